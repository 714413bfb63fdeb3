"""How a send failed, without personal data: a stable code (kept with the delivery status and
logged) and whether trying again may help."""

from __future__ import annotations


class SendError(Exception):
    """A failed send. `code` is safe to log and to show the agency (never an address, a
    number or a server's reply text, which may quote them)."""

    def __init__(self, code: str, *, transient: bool) -> None:
        super().__init__(code)
        self.code, self.transient = code, transient
