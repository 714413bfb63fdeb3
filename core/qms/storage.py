"""Attachment storage of the QMS documents: the file storage of infra/storage.py, at the
configured `storage_dir`. Content-addressed by sha256: the digest a document version records
proves later that its attachment was not changed."""

from __future__ import annotations

from eiso.core.settings import Settings
from eiso.infra.storage import LocalStorage, Storage

__all__ = ["LocalStorage", "Storage", "storage_from_settings"]


def storage_from_settings(settings: Settings) -> Storage:
    return LocalStorage(settings.storage_dir)
