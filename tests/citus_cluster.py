"""A Citus coordinator and two workers of a test's own: local PostgreSQL 15 clusters
(`initdb`, `pg_ctl`) on spare ports of 127.0.0.1 in a temporary directory, with
`shared_preload_libraries = 'citus'` and trust authentication, the workers registered with
the coordinator; stopped and removed after. initdb refuses to run as root, so the clusters run
as the `postgres` OS user in a directory it owns (`runuser`, when the tests run as root).

The Citus build (`infra/citus/build.sh`) must be installed; `citus_installed()` says whether
it is."""

from __future__ import annotations

import contextlib
import os
import pwd
import random
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

PG_BIN = Path("/usr/lib/postgresql/15/bin")
WORKERS = 2
WAIT_SECONDS = 60  # bounded: a node that does not answer by then fails the fixture
RUN_AS = "postgres"  # the OS user the clusters run as when the tests run as root


def citus_installed() -> bool:
    """Whether citus.so is installed for Debian's PostgreSQL 15."""
    try:
        pkglibdir = subprocess.run(
            [str(PG_BIN / "pg_config"), "--pkglibdir"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return False
    return (Path(pkglibdir) / "citus.so").is_file()


def _free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _spare_ports(count: int) -> list[int]:
    ports: list[int] = []
    while len(ports) < count:
        port = random.randint(20000, 29000)
        if port not in ports and _free(port):
            ports.append(port)
    return ports


class LocalCitus:
    """The coordinator (`ports[0]`) and the workers, each a cluster under `directory`
    (`workers=0`: one node alone, a plain PostgreSQL with the same settings: a benchmark's
    single-node baseline)."""

    def __init__(self, directory: Path, workers: int = WORKERS) -> None:
        self.directory = directory
        self.ports = _spare_ports(1 + workers)
        self.started: list[Path] = []

    @property
    def coordinator_port(self) -> int:
        return self.ports[0]

    def url(self, database: str = "postgres", user: str = "postgres") -> str:
        return f"postgresql://{user}@127.0.0.1:{self.coordinator_port}/{database}"

    def _run(self, *command: str) -> None:
        prefix = ["runuser", "-u", RUN_AS, "--"] if os.geteuid() == 0 else []
        subprocess.run([*prefix, *command], check=True, capture_output=True, timeout=120)

    def _psql(self, port: int, sql: str, database: str = "postgres") -> str:
        result = subprocess.run(
            [str(PG_BIN / "psql"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres",
             "-d", database, "-v", "ON_ERROR_STOP=1", "-Atc", sql],
            check=True, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        return result.stdout.strip()

    def _start_node(self, port: int) -> None:
        data = self.directory / f"node-{port}"
        # --no-sync: a throwaway cluster need not wait for its files to reach the disk.
        self._run(
            str(PG_BIN / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
            "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync",
        )  # fmt: skip
        with (data / "postgresql.conf").open("a") as conf:
            conf.write(
                "\nshared_preload_libraries = 'citus'\n"
                f"listen_addresses = '127.0.0.1'\nport = {port}\n"
                f"unix_socket_directories = '{self.directory}'\n"
                "max_connections = 200\nfsync = off\nsynchronous_commit = off\n"
                "full_page_writes = off\nmax_prepared_transactions = 100\n"
            )
        self._run(
            str(PG_BIN / "pg_ctl"), "-D", str(data), "-l", str(data / "log"), "-w",
            "-t", str(WAIT_SECONDS), "start",
        )  # fmt: skip
        self.started.append(data)

    def start(self) -> None:
        for port in self.ports:
            self._start_node(port)

    def create_database(self, name: str, app_role: str) -> None:
        """A database on every node with the citus extension, and the application's role
        (non-superuser, no BYPASSRLS) on every node: the workers see it as it connects through
        the coordinator. Citus propagates CREATE DATABASE only when asked, so each node makes
        its own and the workers are registered again for it."""
        for port in self.ports:
            with contextlib.suppress(subprocess.CalledProcessError):  # the role exists already
                self._psql(port, f"CREATE ROLE {app_role} LOGIN NOSUPERUSER NOBYPASSRLS")
            self._psql(port, f'CREATE DATABASE "{name}"')
            self._psql(port, "CREATE EXTENSION citus", database=name)
        self._psql(
            self.coordinator_port,
            f"SELECT citus_set_coordinator_host('127.0.0.1', {self.ports[0]})",
            database=name,
        )
        for port in self.ports[1:]:
            self._psql(
                self.coordinator_port, f"SELECT citus_add_node('127.0.0.1', {port})", database=name
            )

    def drop_database(self, name: str) -> None:
        for port in self.ports:
            with contextlib.suppress(subprocess.CalledProcessError):
                self._psql(port, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self) -> None:
        for data in reversed(self.started):
            with contextlib.suppress(subprocess.SubprocessError):
                self._run(
                    str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w",
                    "-t", str(WAIT_SECONDS), "stop",
                )  # fmt: skip
        self.started = []


@contextlib.contextmanager
def local_citus(workers: int = WORKERS) -> Iterator[LocalCitus]:
    """Started coordinator and workers (no database yet: `create_database`), removed after."""
    directory = Path(tempfile.mkdtemp(prefix="eiso-citus-"))
    if os.geteuid() == 0:
        user = pwd.getpwnam(RUN_AS)
        os.chown(directory, user.pw_uid, user.pw_gid)
    cluster = LocalCitus(directory, workers)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(directory, ignore_errors=True)
