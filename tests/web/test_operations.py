"""The web room's GraphQL documents (web/operations/) are valid against the committed SDL,
named after their file, registered as trusted documents at start-up, and the pages still
work when the server runs only trusted documents. Its gettext catalogue covers every text."""

from __future__ import annotations

import pathlib

import httpx
import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from eiso.core import trusted_documents as store
from eiso.core.trusted_documents import document_id
from eiso.tenants.scope import TenantScope
from eiso.web import documents, i18n
from graphql import OperationDefinitionNode, build_schema, parse, specified_rules, validate

ROOT = pathlib.Path(__file__).resolve().parents[2]
OPERATIONS = sorted((ROOT / "web" / "operations").glob("*.graphql"))


def test_there_are_operations():
    assert {p.stem for p in OPERATIONS} >= {"Lookup", "ProvinceServices", "SubmitOnline"}
    assert set(documents.documents()) == {p.stem for p in OPERATIONS}


@pytest.mark.parametrize("path", OPERATIONS, ids=lambda p: p.name)
def test_operation_is_valid_against_the_committed_sdl(path):
    schema = build_schema((ROOT / "graphql" / "schema.graphql").read_text())
    text = documents.document(path.stem)
    assert text.startswith(path.read_text())  # the file's text, then the shared fragments it uses
    document = parse(text)
    assert validate(schema, document, specified_rules) == []
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    assert [op.name.value for op in operations if op.name] == [path.stem]


def test_every_shared_fragment_is_named_after_its_file_and_used():
    shared = documents.fragments()
    assert shared
    for name, text in shared.items():
        assert [d.name.value for d in parse(text).definitions] == [name]
        users = [op for op, text in documents.documents().items() if f"fragment {name} on" in text]
        assert users, name


def test_a_shared_fragment_is_added_once_and_only_where_spread():
    text = documents.document("IsoReview")
    assert text.count("fragment ReviewHeld on") == 1
    assert "fragment ProcedureTerms on" not in text
    assert "fragment" not in documents.document("Lookup")


async def test_operations_are_registered_at_start_up(web_app, resources):
    async with resources.session(TenantScope.nation()) as session:
        rows = await store.listing(session, documents.CLIENT)
    assert {row.id for row in rows} >= {
        document_id(text) for text in documents.documents().values()
    }


@pytest.fixture
async def trusted_only(resources, callers):
    from eiso.core.app import create_app
    from tests.web.support import REGISTRY

    settings = resources.settings.model_copy(update={"graphql_trusted_only": True})
    app = create_app(settings, resources, authenticator=callers.authenticate, plugins=REGISTRY)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http


async def test_pages_work_when_only_trusted_documents_run(trusted_only, places):
    a, _ = places
    assert (await trusted_only.get(f"/tinh/{a.province_code}")).status_code == 200
    refused = await trusted_only.post("/graphql", json={"query": "{ version __typename }"})
    assert refused.json()["errors"][0]["extensions"]["code"] == "TRUSTED_DOCUMENT_REQUIRED"


def _catalogue() -> pathlib.Path:
    return i18n.LOCALES / "vi" / "LC_MESSAGES"


def test_every_text_of_the_pages_has_its_vietnamese():
    method_map = [("**.py", "python"), ("templates/**.html", "jinja2")]
    options = {"templates/**.html": {"trim_blocks": "true", "lstrip_blocks": "true"}}
    found = {
        message if isinstance(message, str) else message[0]
        for _file, _line, message, _comments, _context in extract_from_dir(
            str(ROOT / "web"), method_map, options
        )
    }
    with (_catalogue() / "messages.po").open("rb") as po:
        catalogue = read_po(po)
    missing = sorted(m for m in found if not (catalogue.get(m) and catalogue.get(m).string))
    assert missing == [], "run `make messages` and translate these in messages.po"


def test_compiled_catalogue_matches_its_source():
    with (_catalogue() / "messages.po").open("rb") as po:
        source = read_po(po)
    with (_catalogue() / "messages.mo").open("rb") as mo:
        shipped = read_mo(mo)
    texts = {m.id: m.string for m in source if m.id}
    assert {m.id: m.string for m in shipped if m.id} == texts, "run `make messages` (compile)"
