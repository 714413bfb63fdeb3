"""The files a citizen files with a dossier online, one per component of the procedure (or
more): checked before anything is stored, kept in the file storage (infra/storage.py,
content-addressed) and recorded in `dossier_attachments`, in the dossier's own transaction.

Checks, each refused with ATTACHMENT_REFUSED, a Vietnamese message, `field`
("attachments.<component>") and `reason`, nothing stored:
- at most `attachment_max_count` files (settings), none empty, each at most
  `attachment_max_bytes`;
- a component the procedure declares;
- a type among `attachment_types`, recognised from the file's first bytes (its signature),
  never from its name or the type the browser claims; a name whose extension says another type
  is refused too.

Only the officers of the dossier's agency read them (`dossier_attachments` is under row-level
security like the dossier): `Dossier.attachments` lists them, `GET
/dossiers/{id}/attachments/{attachment}` (core/http/downloads.py) serves one.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import pathlib
import unicodedata
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from eiso.core import audit
from eiso.core.dossiers.models import Dossier, DossierAttachment
from eiso.core.errors import DomainError, NotFound
from eiso.core.resources import Resources
from eiso.core.settings import Settings
from eiso.infra.storage import LocalStorage, Storage
from eiso.tenants.scope import TenantScope

MAX_FILENAME = 200
# The types eiso recognises by their signature, with the extensions their names may carry.
SIGNATURES: dict[str, tuple[bytes, ...]] = {
    "application/pdf": (b"%PDF-",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
}
EXTENSIONS: dict[str, tuple[str, ...]] = {
    "application/pdf": (".pdf",),
    "image/png": (".png",),
    "image/jpeg": (".jpg", ".jpeg"),
}
_NAMES_VI = {"application/pdf": "PDF", "image/png": "PNG", "image/jpeg": "JPEG"}


@dataclasses.dataclass(frozen=True)
class Upload:
    """A file as sent: the component it is for, its name, its bytes."""

    component: str
    filename: str
    content: bytes


@dataclasses.dataclass(frozen=True)
class Checked(Upload):
    """An upload that passed the checks: its name cleaned, with its type and digest."""

    media_type: str
    sha256: str


def storage_of(settings: Settings) -> Storage:
    return LocalStorage(settings.storage_dir)


def _refused(message: str, message_vi: str, component: str, reason: str) -> DomainError:
    field = f"attachments.{component}" if component else "attachments"
    return DomainError(message, message_vi, code="ATTACHMENT_REFUSED", field=field, reason=reason)


def sniff(content: bytes) -> str | None:
    """The type of `content` by its signature (None: none eiso knows)."""
    for media_type, signatures in SIGNATURES.items():
        if content.startswith(signatures):
            return media_type
    return None


def _clean_name(filename: str) -> str:
    """The file's own name (no folders), without control characters, at most 200 characters."""
    name = pathlib.PurePosixPath(filename.replace("\\", "/")).name
    name = unicodedata.normalize("NFC", name)
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C")
    return name.strip()[-MAX_FILENAME:] or "tep"


def allowed_types(settings: Settings) -> list[str]:
    return [t for t in settings.attachment_types if t in SIGNATURES]


def check_count(count: int, settings: Settings) -> None:
    """At most `attachment_max_count` files (ATTACHMENT_REFUSED otherwise)."""
    n = settings.attachment_max_count
    if count > n:
        message_vi = f"chỉ được đính kèm tối đa {n} tệp"
        raise _refused(f"at most {n} files may be attached", message_vi, "", "too_many")


def check(
    uploads: Sequence[Upload], components: Iterable[dict[str, Any]], settings: Settings
) -> list[Checked]:
    """The uploads checked against the limits and the procedure's components, or the first
    refusal (DomainError ATTACHMENT_REFUSED). Nothing is stored here."""
    declared = {str(c.get("code")) for c in components}
    check_count(len(uploads), settings)
    types = allowed_types(settings)
    wanted = ", ".join(_NAMES_VI[t] for t in types)
    checked = []
    for upload in uploads:
        name = _clean_name(upload.filename)
        if upload.component not in declared:
            raise _refused(
                f"{upload.component!r} is not a component of this procedure",
                f"{upload.component!r} không phải thành phần hồ sơ của thủ tục này",
                upload.component,
                "component",
            )
        if not upload.content:
            raise _refused(
                f"{name}: the file is empty", f"{name}: tệp rỗng", upload.component, "empty"
            )
        limit = settings.attachment_max_bytes
        if len(upload.content) > limit:
            mb = f"{limit / 1024 / 1024:.0f}" if limit >= 1024 * 1024 else f"{limit // 1024} K"
            raise _refused(
                f"{name}: larger than {mb} MB",
                f"{name}: tệp lớn hơn {mb} MB",
                upload.component,
                "too_large",
            )
        media_type = sniff(upload.content)
        suffix = pathlib.PurePosixPath(name.lower()).suffix
        if (
            media_type not in types
            or media_type is None
            or (suffix and suffix not in EXTENSIONS[media_type])
        ):
            raise _refused(
                f"{name}: not a file of an accepted type ({wanted})",
                f"{name}: không phải tệp thuộc định dạng được chấp nhận ({wanted})",
                upload.component,
                "type",
            )
        digest = hashlib.sha256(upload.content).hexdigest()
        checked.append(Checked(upload.component, name, upload.content, media_type, digest))
    return checked


async def record(
    session: AsyncSession, dossier: Dossier, checked: Sequence[Checked]
) -> list[DossierAttachment]:
    """The rows of `checked` for `dossier`, added to its session (its transaction)."""
    rows = [
        DossierAttachment(
            **dossier.stamp(),
            position=i,
            component_code=c.component,
            filename=c.filename,
            media_type=c.media_type,
            size=len(c.content),
            sha256=c.sha256,
        )
        for i, c in enumerate(checked)
    ]
    session.add_all(rows)
    await session.flush()
    return rows


def store(storage: Storage, checked: Sequence[Checked]) -> list[str]:
    """Write the files; the digests written now (not there before), for `forget` to remove
    if the dossier's transaction does not commit. A failure removes what it wrote."""
    written: list[str] = []
    try:
        for c in checked:
            if not storage.exists(c.sha256):
                storage.put(c.content)
                written.append(c.sha256)
    except BaseException:
        forget(storage, written)
        raise
    return written


def forget(storage: Storage, digests: Iterable[str]) -> None:
    for digest in digests:
        storage.delete(digest)


async def listed(session: AsyncSession, dossier_ids: Sequence[int]) -> list[DossierAttachment]:
    """The attachments of these dossiers the session's scope may read, in filing order."""
    return list(
        (
            await session.execute(
                select(DossierAttachment)
                .where(col(DossierAttachment.dossier_id).in_(dossier_ids))
                .order_by(col(DossierAttachment.dossier_id), col(DossierAttachment.position))
            )
        ).scalars()
    )


async def one(
    session: AsyncSession, province_id: int, dossier_id: int, attachment_id: int
) -> DossierAttachment:
    """One attachment of a dossier within the session's scope, or NOT_FOUND (another agency's
    too: row-level security and the scope's filter hide it)."""
    found = (
        await session.execute(
            select(DossierAttachment).where(
                col(DossierAttachment.province_id) == province_id,
                col(DossierAttachment.dossier_id) == dossier_id,
                col(DossierAttachment.id) == attachment_id,
            )
        )
    ).scalar_one_or_none()
    if found is None:
        raise not_found()
    return found


def not_found() -> NotFound:
    return NotFound("attachment not found", "không tìm thấy tệp đính kèm")


@dataclasses.dataclass(frozen=True)
class Downloaded:
    filename: str
    media_type: str
    content: bytes


async def download(
    resources: Resources,
    scope: TenantScope,
    *,
    province_id: int,
    dossier_id: int,
    attachment_id: int,
    actor: str,
) -> Downloaded:
    """One attachment's bytes for `actor` (NOT_FOUND outside the scope); the download is
    recorded in the audit trail (the files carry personal data), in the same transaction."""
    async with resources.session(scope) as session, session.begin():
        row = await one(session, province_id, dossier_id, attachment_id)
        try:
            content = await asyncio.to_thread(storage_of(resources.settings).get, row.sha256)
        except (OSError, ValueError):
            raise not_found() from None
        await audit.append_row(
            session,
            row,
            actor,
            "dossier.attachment_downloaded",
            {"attachment": row.id, "sha256": row.sha256},
            about=("dossier", row.dossier_id),
        )
    return Downloaded(row.filename, row.media_type, content)
