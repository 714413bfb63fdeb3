"""The pages' shared macros (web/templates/_tables.html, _form_section.html, _console_rows.html):
what each writes, rendered alone with the pages' own environment (pages.environment)."""

from __future__ import annotations

import re

import pytest

from eiso.web import pages

TOKEN = "token-of-the-session"


def render(source: str, language: str = "vi", **context) -> str:
    env = pages.environment(language)
    heads = (
        '{% import "_tables.html" as tables %}'
        '{% import "_form_section.html" as forms with context %}'
        '{% import "_console_rows.html" as parts with context %}'
    )
    html = env.from_string(heads + source).render(csrf_token=lambda: TOKEN, **context)
    return re.sub(r">\s+<", "><", html).strip()


LISTING = (
    '{% call(r) tables.listing(rows, "Nothing yet.", "Rows", ["Code", "Name"], **options) %}'
    "<tr><td>{{ r.code }}</td><td>{{ r.name }}</td></tr>{% endcall %}"
)


def test_a_listing_writes_its_table_with_one_row_per_item():
    html = render(
        LISTING, rows=[{"code": "A", "name": "x"}, {"code": "B", "name": "y"}], options={}
    )
    assert '<div class="scroll" tabindex="0" role="region"' in html
    assert "<caption>Rows</caption>" in html
    assert '<th scope="col">Code</th><th scope="col">Name</th>' in html
    assert "<tbody><tr><td>A</td><td>x</td></tr><tr><td>B</td><td>y</td></tr></tbody>" in html
    assert "Nothing yet." not in html


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({}, "<p>Nothing yet.</p>"),
        ({"empty_row": True}, '<tbody><tr><td colspan="2">Nothing yet.</td></tr></tbody>'),
    ],
)
def test_an_empty_listing_says_so_instead_of_rows_or_table(options, expected):
    html = render(LISTING, rows=[], options=options)
    assert expected in html
    assert ("<table" in html) == bool(options)


def test_an_empty_listing_without_its_text_writes_nothing():
    source = '{% call(r) tables.listing([], none, "Rows", ["Code"]) %}<tr></tr>{% endcall %}'
    assert render(source) == ""


def test_a_plain_listing_hides_its_caption_and_is_no_region():
    html = render(LISTING, rows=[{"code": "A", "name": "x"}], options={"plain": True})
    assert html.startswith('<div class="scroll"><table>')
    assert '<caption class="visually-hidden">Rows</caption>' in html


def test_a_post_form_carries_the_session_token_then_the_fields_then_its_button():
    html = render(
        '{% call forms.post_form("/x/y", "Save") %}<input name="a">{% endcall %}'
        '{{ forms.post_form("/x/z", "Close") }}'
    )
    assert html == (
        f'<form method="post" action="/x/y"><input type="hidden" name="csrf_token" '
        f'value="{TOKEN}"><input name="a"><button type="submit">Save</button></form>'
        f'<form method="post" action="/x/z"><input type="hidden" name="csrf_token" '
        f'value="{TOKEN}"><button type="submit">Close</button></form>'
    )


def test_a_form_section_is_named_by_its_heading_with_the_notice_of_what_it_did_above():
    source = (
        '{% call forms.form_section("new-risk", "Register a risk", "/rui-ro", "Register",'
        ' done=done) %}<input name="title">{% endcall %}'
    )
    html = render(source, done="The risk is registered.")
    assert html.startswith(
        '<p class="notice" role="status">The risk is registered.</p>'
        '<section aria-labelledby="new-risk"><h2 id="new-risk">Register a risk</h2>'
        '<form method="post" action="/rui-ro">'
    )
    assert html.endswith(
        '<input name="title"><button type="submit">Register</button></form></section>'
    )
    assert 'class="notice"' not in render(source, done=None)


def test_a_details_form_folds_the_form_under_its_summary():
    html = render('{% call forms.details_form("Plan", "/p", "Go") %}{% endcall %}')
    assert html.startswith('<details><summary>Plan</summary><form method="post" action="/p">')
    assert html.endswith('<button type="submit">Go</button></form></details>')


@pytest.mark.parametrize(("language", "shown"), [("vi", "Không hợp lệ"), ("en", "Not valid")])
def test_a_refusal_names_what_was_not_done_then_the_message_in_the_page_language(language, shown):
    error = {"message_vi": "Không hợp lệ", "message": "Not valid"}
    source = '{{ forms.refusal(error, "The dossier was not filed.") }}'
    html = render(source, language, error=error)
    assert html == (
        '<div class="alert" role="alert"><p><strong>The dossier was not filed.</strong> '
        f"{shown}</p></div>"
    )
    assert render(source, language, error=None) == ""


def test_an_input_keeps_its_attributes_in_the_order_given():
    html = render(
        '{{ forms.input("contact_phone", "Phone", value, type="tel", maxlength=200,'
        ' autocomplete="tel") }}',
        value='0912 "345"',
    )
    assert html == (
        '<div class="field"><label for="contact_phone">Phone</label>'
        '<input id="contact_phone" name="contact_phone" type="tel" value="0912 &#34;345&#34;"'
        ' maxlength="200" autocomplete="tel"></div>'
    )


def test_a_search_form_searches_by_q_and_adds_what_its_caller_gives():
    html = render(
        '{% call forms.search_form("/here", "Search agencies", "ha") %}'
        '<a href="/here">All</a>{% endcall %}'
    )
    assert html.startswith('<form class="filters" method="get" action="/here" role="search">')
    assert '<label for="q">Search agencies</label><input id="q" name="q" value="ha">' in html
    assert html.endswith('<a href="/here">All</a></form>')


@pytest.mark.parametrize(
    ("error_field", "described", "invalid"),
    [
        (None, ' aria-describedby="role-hint"', ""),
        ("role", ' aria-describedby="role-hint role-error"', ' aria-invalid="true"'),
    ],
)
def test_a_console_field_ties_its_hint_and_its_refusal_to_the_control(
    error_field, described, invalid
):
    source = (
        '{% call(aria) parts.field("role", "Role", "Who it is", required=true) %}'
        '<select id="role" name="role"{{ aria }}></select>{% endcall %}'
    )
    error = {"message_vi": "Sai vai trò", "message": "Wrong role"}
    html = render(source, error=error, error_field=error_field)
    assert f'<select id="role" name="role"{described}{invalid}></select>' in html
    assert ('<p class="error-text" id="role-error">Sai vai trò</p>' in html) == bool(error_field)
    assert html.startswith(f'<div class="field{" invalid" if error_field else ""}">')
    assert '<span class="req">(' in html


def test_a_console_field_without_hint_or_refusal_has_no_aria_attributes():
    source = '{% call(aria) parts.field("name", "Name") %}<input id="name"{{ aria }}>{% endcall %}'
    html = render(source, error=None, error_field=None)
    assert '<input id="name">' in html
    assert "req" not in html
