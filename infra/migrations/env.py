"""Alembic environment: runs the migrations over the async engine of either backend."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import Connection

from eiso.infra.db import make_engine

config = context.config


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=None,
        render_as_batch=True,
        # A module's own migrations (infra/migrate.py, upgrade_module) keep their own table.
        version_table=config.attributes.get("version_table", "alembic_version"),
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_async() -> None:
    engine = make_engine(config.attributes["database_url"], pool_size=1)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run)
            await connection.commit()
    finally:
        await engine.dispose()


def _in_new_loop() -> None:
    asyncio.run(_run_async())


try:
    asyncio.get_running_loop()
except RuntimeError:
    _in_new_loop()
else:  # called from async code: run the migration in a thread with its own loop
    import threading

    failure: list[BaseException] = []

    def _target() -> None:
        try:
            _in_new_loop()
        except BaseException as error:  # noqa: BLE001 - re-raised below in the caller's thread
            failure.append(error)

    thread = threading.Thread(target=_target)
    thread.start()
    thread.join()
    if failure:
        raise failure[0]
