from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from eiso.core.cli.common import run_with_resources

if TYPE_CHECKING:
    from eiso.core.resources import Resources

STABLE = (
    "provinces",
    "agencies",
    "users",
    "calendar_overrides",
    "modules",
    "dossiers",
    "inspections",
    "inspection_findings",
    "training_records",
    "feedback",
    "feedback_nonconformities",
    "conformity_scopes",
    "conformity_announced",
    "yearly_reports",
)


def _progress(line: str) -> None:
    typer.echo("eiso: " + line, err=True)


def demo(
    quiet: bool = typer.Option(
        False, "--quiet", "-q", help="Không in tiến trình / no progress lines on stderr"
    ),
) -> None:
    """Load the demo data, idempotently: provinces, agencies, accounts, modules, adoptions and
    a few hundred dossiers in every status. Prints one line per stage on stderr (unless
    --quiet), then the dossiers per status."""
    from eiso.core.demo.dossiers import count_by_status
    from eiso.core.demo.load import load_demo

    async def work(resources: Resources) -> tuple[dict[str, int], dict[str, dict[int, int]]]:
        if quiet:
            counts = await load_demo(resources)
        else:
            counts = await load_demo(resources, progress=_progress)
        return counts, await count_by_status(resources)

    counts, by_status = run_with_resources(work)
    _print_statuses(by_status)
    typer.echo(
        f"eiso: demo created {counts['dossiers_created']} dossiers and "
        f"{counts['adoptions_created']} procedure adoptions "
        f"and {counts['model_qms_documents']} model QMS documents",
        err=True,
    )
    # The last line is the same on every run: what the demo holds, not what this run added.
    typer.echo("eiso: demo data ready: " + ", ".join(f"{k} {counts[k]}" for k in STABLE), err=True)


STATUS_VI = {
    1: "mới đăng ký",
    2: "được tiếp nhận",
    3: "không được tiếp nhận",
    4: "đang xử lý",
    5: "yêu cầu bổ sung giấy tờ",
    6: "yêu cầu thực hiện nghĩa vụ tài chính",
    7: "công dân yêu cầu rút hồ sơ",
    8: "dừng xử lý",
    9: "đã xử lý xong",
    10: "đã trả kết quả",
}


def _print_statuses(by_status: dict[str, dict[int, int]]) -> None:
    """One line per status: number, name, then the count in each demo province."""
    from eiso.core.dossiers.statuses import Status

    provinces = sorted(by_status)
    typer.echo("status\t" + "\t".join(f"province {p}" for p in provinces))
    for status in Status:
        cells = [str(by_status[p].get(int(status), 0)) for p in provinces]
        typer.echo(f"{int(status)} {status.name} ({STATUS_VI[int(status)]})\t" + "\t".join(cells))
