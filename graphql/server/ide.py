"""GraphiQL, served offline: the page and the files it loads (GraphiQL, its explorer plugin,
React, pinned in graphiql/package-lock.json and committed under graphiql/vendor/ with their
licences by `make graphiql-assets`). Nothing is loaded from another host."""

from __future__ import annotations

import functools
import pathlib

from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

FOLDER = pathlib.Path(__file__).with_name("graphiql")
# Where the page finds its files (index.html names them under this path).
ASSETS_PATH = "/graphiql"


@functools.cache
def page() -> str:
    return (FOLDER / "index.html").read_text(encoding="utf-8")


def assets_route() -> Mount:
    return Mount(ASSETS_PATH, StaticFiles(directory=FOLDER / "vendor"), name="graphiql")
