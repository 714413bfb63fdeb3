"""The online form's files: the multipart body parsed by Starlette (python-multipart) within
the attachment limits of the settings, each file read up to its limit, and handed to
`submitOnlineDossier` as its `attachments` (base64), which checks them again and stores them
(core/dossiers/attachments.py). A body or a file over the limits is refused here with the
same ATTACHMENT_REFUSED error, before anything runs."""

from __future__ import annotations

import base64
import dataclasses
from typing import Any

from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request

from eiso.core.settings import Settings
from eiso.web.run import OperationFailed

PREFIX = "attachments."
# The form's own fields besides the files (the applicant, the sector data, the hidden ones).
_OTHER_PARTS = 200
_OVERHEAD = 1024 * 1024  # the multipart framing and the form's other fields


@dataclasses.dataclass(frozen=True)
class Limits:
    count: int
    size: int

    @property
    def mb(self) -> str:
        return f"{self.size / 1024 / 1024:g}"

    @classmethod
    def of(cls, settings: Settings) -> Limits:
        return cls(settings.attachment_max_count, settings.attachment_max_bytes)


def refused(message: str, message_vi: str, field: str = "attachments") -> OperationFailed:
    return OperationFailed("ATTACHMENT_REFUSED", message, message_vi, field=field)


def _too_large_body(limits: Limits) -> OperationFailed:
    return refused(
        f"the files are too large: at most {limits.count} files of {limits.mb} MB each",
        f"các tệp quá lớn: tối đa {limits.count} tệp, mỗi tệp không quá {limits.mb} MB",
    )


async def form(request: Request, limits: Limits) -> FormData | OperationFailed:
    """The posted form, its body within the limits (a declared length above them is refused
    before reading it)."""
    try:
        declared = int(request.headers.get("content-length", "0"))
    except ValueError:
        declared = 0
    if declared > limits.count * limits.size + _OVERHEAD:
        return _too_large_body(limits)
    try:
        return await request.form(max_files=limits.count + _OTHER_PARTS, max_fields=_OTHER_PARTS)
    except HTTPException:  # python-multipart refused the body (too many parts, malformed)
        return refused(
            "the form could not be read: too many parts or a malformed body",
            "không đọc được biểu mẫu: quá nhiều phần hoặc dữ liệu không hợp lệ",
        )


async def attachments(
    posted: FormData, limits: Limits
) -> tuple[list[dict[str, Any]], list[str]] | OperationFailed:
    """The `attachments` variable of the files chosen (an input left empty sends none) and
    their names; a file over the size limit is refused without reading it whole."""
    files: list[dict[str, Any]] = []
    names: list[str] = []
    for key, value in posted.multi_items():
        if not (isinstance(value, UploadFile) and key.startswith(PREFIX)):
            continue
        if not value.filename and not value.size:
            continue  # no file chosen
        if len(files) >= limits.count:
            return refused(
                f"at most {limits.count} files may be attached",
                f"chỉ được đính kèm tối đa {limits.count} tệp",
            )
        content = await value.read(limits.size + 1)
        name = value.filename or "tep"
        if len(content) > limits.size:
            return refused(
                f"{name}: larger than {limits.mb} MB",
                f"{name}: tệp lớn hơn {limits.mb} MB",
                field=key,
            )
        files.append(
            {
                "componentCode": key.removeprefix(PREFIX),
                "filename": name,
                "contentBase64": base64.b64encode(content).decode(),
            }
        )
        names.append(name)
    return files, names
