"""The `eiso` command. Each room adds its sub-commands in a module of this package."""

from __future__ import annotations

import sys

import typer

import eiso.core.qms  # noqa: F401 - the QMS listens to the dossier engine (core/qms/__init__.py)
from eiso.core.cli import (
    agencies,
    audit_cmd,
    clients,
    db,
    demo,
    dossiers_cmd,
    events_cmd,
    federation,
    graphql_cmd,
    keys,
    modules_cmd,
    plugins_cmd,
    procedures_cmd,
    provinces,
    qms_cmd,
    report_cmd,
    serve,
    users,
    workdays_cmd,
)
from eiso.core.dossiers import slips as _slips  # noqa: F401 - issued at their event
from eiso.core.settings import SettingsError

app = typer.Typer(
    name="eiso",
    help="eiso: the electronic ISO 9001:2015 platform for state administrative agencies.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def _check_settings() -> None:
    """Every command reads the settings first, so a bad variable stops it before any work."""
    from eiso.core.settings import get_settings

    get_settings()


app.command("serve")(serve.serve)
app.command("demo")(demo.demo)
app.add_typer(db.app, name="db")
app.add_typer(plugins_cmd.app, name="plugins")
app.add_typer(graphql_cmd.app, name="graphql")
app.add_typer(provinces.app, name="provinces")
app.add_typer(agencies.app, name="agencies")
app.add_typer(modules_cmd.app, name="modules")
app.add_typer(audit_cmd.app, name="audit")
app.add_typer(events_cmd.app, name="events")
app.add_typer(workdays_cmd.app, name="workdays")
app.add_typer(users.app, name="users")
app.add_typer(clients.app, name="clients")
app.add_typer(keys.app, name="keys")
app.add_typer(federation.app, name="federation")
app.add_typer(dossiers_cmd.app, name="dossiers")
app.add_typer(report_cmd.app, name="report")
app.add_typer(qms_cmd.app, name="qms")
app.add_typer(procedures_cmd.app, name="procedures")


def main() -> None:
    from sqlalchemy.exc import OperationalError

    try:
        app()
    except SettingsError as error:
        print(f"eiso: {error}", file=sys.stderr)
        sys.exit(1)
    except (OperationalError, OSError) as error:
        # Connection failures say what failed in one line; no traceback for the operator.
        reason = str(getattr(error, "orig", None) or error).splitlines()[0]
        print(f"eiso: cannot reach the database or Redis: {reason}", file=sys.stderr)
        sys.exit(1)
