"""graphql-schema-linter with the committed rule set (.graphql-schema-linterrc: the Relay
connection, arguments and PageInfo rules, naming rules) finds nothing in the committed SDL."""

from __future__ import annotations

import asyncio

from tests.clients.conftest import HERE

SDL = HERE.parents[1] / "graphql" / "schema.graphql"


async def test_the_committed_schema_passes_the_linter(node):
    cli = HERE / "node_modules" / "graphql-schema-linter" / "lib" / "cli.js"
    process = await asyncio.create_subprocess_exec(
        node,
        str(cli),
        "--config-directory",
        str(HERE),
        "--format",
        "compact",
        str(SDL),
        cwd=HERE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(process.communicate(), 120)
    findings = out.decode().strip()
    assert (process.returncode, findings) == (0, "")
