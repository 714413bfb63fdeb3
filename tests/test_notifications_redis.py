"""The notifications module across a Redis outage, on SQLite and on PostgreSQL: a real
`redis-server` the test starts on a spare port is killed while dossiers move (the transitions
commit, the outbox keeps their events), then started again, empty: each event's e-mail and SMS
leave once, none is lost and none is repeated, and the delivery status (kept in the module's
store, in the database) is whole."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from redis.exceptions import RedisError

from eiso.core.plugins.testing import data_of
from eiso.core.resources import Resources
from eiso.core.settings import load_settings
from tests.notifications_support import SmsApi, SmtpServer, sms_api, smtp_server
from tests.test_notifications_flow import APPLICANT, DELIVERIES, PROCEDURE, data, notifying_agency
from tests.test_redis_outage import RedisServer, redis_server

__all__ = ["redis_server", "sms_api", "smtp_server"]  # fixtures

pytestmark = pytest.mark.slow
TRIES = 100  # bounded: the Redis client's breaker lets a connect through every few tenths


@pytest.fixture
def eiso_plugins() -> list[str]:
    return ["notifications", "business_registration"]


@pytest_asyncio.fixture
async def eiso_resources(database, redis_server: RedisServer) -> AsyncIterator[Resources]:
    """The kit on this run's database and the test's own Redis server."""
    prefix = f"eiso-notify-{secrets.token_hex(4)}:"
    resources = Resources.open(
        load_settings(
            env="test",
            database_url=database.app_url,
            migration_database_url=database.owner_url,
            redis_url=redis_server.url,
            redis_prefix=prefix,
            log_json=False,
            plugins=[],
        )
    )
    yield resources
    await resources.close()


async def deliver_when_redis_answers(eiso_events) -> dict[str, int]:
    for _ in range(TRIES):
        try:
            return await eiso_events()
        except (RedisError, OSError):
            await asyncio.sleep(0.1)
    raise AssertionError("Redis never answered again")


async def test_redis_down_then_up_each_notification_leaves_once(
    eiso_province,
    eiso_events,
    redis_server: RedisServer,
    smtp_server: SmtpServer,
    sms_api: SmsApi,
):
    _, agency = await notifying_agency(eiso_province, smtp_server, sms_api)
    before = await agency.receive(PROCEDURE, data("Hộ kinh doanh Trước"), APPLICANT)
    assert await eiso_events() == {"notifications": 1}

    redis_server.kill()
    during = await agency.receive(PROCEDURE, data("Hộ kinh doanh Trong Lúc"), APPLICANT)
    await agency.move(during, "requestSupplement", reason="Thiếu giấy tờ")
    with pytest.raises((RedisError, OSError)):
        await eiso_events()  # nothing reaches the hooks while Redis is down
    assert len(smtp_server.inbox.messages) == 1 and len(sms_api.received) == 1

    await redis_server.start()  # the same port, an empty server
    assert await deliver_when_redis_answers(eiso_events) == {"notifications": 2}
    assert await eiso_events() == {"notifications": 0}

    subjects = sorted(m["Subject"] for m in smtp_server.inbox.messages)
    assert subjects == sorted(
        [
            f"Hồ sơ {before.code} đã được tiếp nhận",
            f"Hồ sơ {during.code} đã được tiếp nhận",
            f"Hồ sơ {during.code} cần bổ sung, hoàn thiện",
        ]
    )
    assert len(sms_api.received) == 3
    rows = data_of(await agency.graphql(DELIVERIES))["notificationsDeliveries"]
    assert len(rows) == 6 and {r["status"] for r in rows} == {"SENT"}
