"""Che thông tin cá nhân / Masking: what the agency sees of a recipient in the delivery status
(enough to tell two addresses apart, not to reach the person). Logs carry not even this."""

from __future__ import annotations


def mask_email(address: str) -> str:
    local, _, domain = address.partition("@")
    return f"{local[:1]}***@{domain}" if domain else "***"


def mask_phone(number: str) -> str:
    digits = [c for c in number if c.isdigit()]
    return "*" * max(len(digits) - 3, 3) + "".join(digits[-3:])
