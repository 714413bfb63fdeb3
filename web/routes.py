"""The web room's routes, mounted by the app (core/app.py) behind the session cookie that
keeps the forms' CSRF token."""

from __future__ import annotations

import pathlib

from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from eiso.core.dossiers.lookup_qr import LOOKUP_PATH
from eiso.web import portal
from eiso.web.pages import STATIC_PATH

STATIC = pathlib.Path(__file__).parent / "static"


def page_routes() -> list[Route]:
    """The pages (each needs the session: its forms carry the CSRF token)."""
    return [
        Route("/", portal.home, name="home"),
        Route("/tinh/{province}", portal.province, name="province"),
        Route(
            "/tinh/{province}/thu-tuc/{procedure}",
            portal.procedure,
            methods=["GET", "POST"],
            name="procedure",
        ),
        Route("/tinh/{province}/tra-cuu", portal.lookup, name="province_lookup"),
        Route(LOOKUP_PATH, portal.lookup, name="lookup"),
        Route("/lookup", portal.lookup, name="lookup_en"),
        Route(LOOKUP_PATH + "/danh-gia", portal.rate, methods=["POST"], name="rate"),
    ]


def static_routes() -> list[BaseRoute]:
    """The pages' own CSS (no CDN), without the session."""
    return [Mount(STATIC_PATH, StaticFiles(directory=STATIC), name="web_static")]
