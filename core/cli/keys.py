from __future__ import annotations

import typer

from eiso.core.cli.common import echo_json, run_with_resources

app = typer.Typer(help="Token signing keys.", no_args_is_help=True)


@app.command("rotate")
def rotate() -> None:
    """Create a new signing key; the old ones stay published until their tokens expire."""
    from eiso.core.auth.keys import rotate as rotate_keys

    key = run_with_resources(rotate_keys)
    echo_json({"kid": key.kid, "alg": key.alg})
