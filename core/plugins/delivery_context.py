"""The process a hook call is delivered by: `eiso_on_dossier_event` receives the event only, so
the SDK's readers that a hook calls with its event (`eiso.core.sdk.dossier_contact`,
`dossier_slip`, `module_config`) find the process's resources here. The hook runner binds them
around each call (core/dossiers/hooks.py); the binding is a context variable, so it follows the
hook into the task that awaits it and never leaks to another call."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar

from eiso.core.resources import Resources

_RESOURCES: ContextVar[Resources | None] = ContextVar("eiso_hook_resources", default=None)


@contextlib.contextmanager
def delivering(resources: Resources) -> Iterator[None]:
    """Hooks called inside this block read through `resources`."""
    token = _RESOURCES.set(resources)
    try:
        yield
    finally:
        _RESOURCES.reset(token)


def current_resources() -> Resources:
    """The resources of the delivery in progress; a clear error outside a hook call."""
    resources = _RESOURCES.get()
    if resources is None:
        raise RuntimeError(
            "no dossier event is being delivered: the SDK's event readers work inside "
            "eiso_on_dossier_event (eiso_events() delivers in tests)"
        )
    return resources
