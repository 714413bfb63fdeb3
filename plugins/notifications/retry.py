"""Thử lại với thời gian chờ tăng dần / Retries with exponential backoff, within a budget (the
hook has 10 s for an event): attempt n+1 starts first_delay × 2^(n-1) (at most max_delay) after
attempt n failed transiently, and never past the budget."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable

from eiso.plugins.notifications.config import RetrySettings
from eiso.plugins.notifications.errors import SendError


@dataclasses.dataclass(frozen=True)
class Outcome:
    sent: bool
    attempts: int
    error: str | None = None  # the last SendError's code


def delays(settings: RetrySettings) -> list[float]:
    """The pauses before attempts 2, 3, ..."""
    return [
        min(settings.first_delay_seconds * 2**n, settings.max_delay_seconds)
        for n in range(settings.attempts - 1)
    ]


async def with_retries(
    attempt: Callable[[float], Awaitable[None]],
    settings: RetrySettings,
    *,
    clock: Callable[[], float] | None = None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> Outcome:
    """Call `attempt(seconds_left)` until it returns, fails for good, or attempts or budget run
    out."""
    now = clock or asyncio.get_running_loop().time
    deadline = now() + settings.budget_seconds
    pauses = delays(settings)
    error: SendError | None = None
    for number in range(1, settings.attempts + 1):
        try:
            async with asyncio.timeout(max(deadline - now(), 0.001)):
                await attempt(deadline - now())
            return Outcome(True, number)
        except SendError as failed:
            error = failed
        except TimeoutError:
            error = SendError("timeout", transient=True)
        if not error.transient or number > len(pauses):
            return Outcome(False, number, error.code)
        pause = pauses[number - 1]
        if now() + pause >= deadline:
            return Outcome(False, number, error.code)
        await sleep(pause)
    raise AssertionError("unreachable: the last attempt returns")  # pragma: no cover
