"""The app's start-up freezes what it made (infra/gc_pauses.py): after the lifespan started,
the collector's permanent generation holds the start-up objects; a second app in the same
process freezes nothing more."""

from __future__ import annotations

import gc

from eiso.infra import gc_pauses


async def test_the_app_start_freezes_the_start_up_objects(resources, callers, monkeypatch):
    from eiso.core.app import create_app

    gc.unfreeze()
    monkeypatch.setattr(gc_pauses, "_done", False)
    assert gc.get_freeze_count() == 0
    app = create_app(resources.settings, resources, authenticator=callers.authenticate)
    assert gc.get_freeze_count() == 0  # built, not started
    async with app.router.lifespan_context(app):
        frozen = gc.get_freeze_count()
        assert frozen > 10_000  # the modules, the schemas, the mappers
    gc.unfreeze()
    again = create_app(resources.settings, resources, authenticator=callers.authenticate)
    async with again.router.lifespan_context(again):
        assert gc.get_freeze_count() == 0  # once per process: the second app froze nothing
