from __future__ import annotations

import typer

from eiso.core.cli.common import run_with_resources


def demo() -> None:
    """Load the demo data, idempotently."""
    from eiso.core.demo import load_demo

    counts = run_with_resources(load_demo)
    typer.echo("eiso: demo data ready: " + ", ".join(f"{k} {v}" for k, v in counts.items()), err=True)
