"""Demo data for `eiso demo`: `load` puts it in (idempotently), `plan` draws the dossiers from a
fixed seed, `people` makes up their applicants and sector data, `dossiers` moves them through
the dossier engine. Only the composition root (the CLI, tests) imports this package."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

# The demo's data: names, places and tenants (data, not code; `people` and `load` read it).
DATA: dict[str, Any] = json.loads(
    resources.files(__name__).joinpath("data.json").read_text("utf-8")
)
