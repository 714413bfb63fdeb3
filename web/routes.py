"""The web room's routes, mounted by the app (core/app.py) behind the session cookie that
keeps the forms' CSRF token."""

from __future__ import annotations

import pathlib
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from eiso.core.dossiers.lookup_qr import LOOKUP_PATH
from eiso.web import (
    console,
    console_accounts,
    console_dashboard,
    console_inspections,
    console_settings,
    console_yearly,
    desk,
    desk_auth,
    desk_feedback,
    feedback,
    iso_audits,
    iso_conformity,
    iso_models,
    iso_workspace,
    live,
    portal,
)
from eiso.web.desk_auth import CONSOLE, ISO
from eiso.web.pages import STATIC_PATH

STATIC = pathlib.Path(__file__).parent / "static"


def _form(path: str, endpoint: Callable[[Request], Awaitable[Response]], name: str) -> Route:
    """A page with a form: GET shows it, POST sends it."""
    return Route(path, endpoint, methods=["GET", "POST"], name=name)


def _post(path: str, endpoint: Callable[[Request], Awaitable[Response]], name: str) -> Route:
    """A form's move: POST only."""
    return Route(path, endpoint, methods=["POST"], name=name)


def page_routes() -> list[Route]:
    """The pages (each needs the session: its forms carry the CSRF token)."""
    return [
        Route("/", portal.home, name="home"),
        Route("/tinh/{province}", portal.province, name="province"),
        _form("/tinh/{province}/thu-tuc/{procedure}", portal.procedure, "procedure"),
        Route("/tinh/{province}/tra-cuu", portal.lookup, name="province_lookup"),
        Route("/tinh/{province}/iso", portal.conformity, name="province_conformity"),
        Route(LOOKUP_PATH, portal.lookup, name="lookup"),
        Route("/lookup", portal.lookup, name="lookup_en"),
        _post(LOOKUP_PATH + "/danh-gia", portal.rate, "rate"),
        # Feedback and petitions (phản ánh, kiến nghị), no account.
        _form("/tinh/{province}/phan-anh", feedback.form, "feedback_form"),
        Route(feedback.FOLLOW_PATH, feedback.follow, name="feedback_follow"),
        _post("/phan-anh/danh-gia", feedback.rate, "feedback_rate"),
        # The officer's desk (signed in through eiso's OAuth server, web/desk_auth.py).
        Route(desk_auth.SIGN_IN, desk_auth.sign_in, name="desk_sign_in"),
        Route(desk_auth.CALLBACK, desk_auth.callback, name="desk_callback"),
        _post(desk_auth.SIGN_OUT, desk_auth.sign_out, "desk_sign_out"),
        Route(desk_auth.DESK, desk.queue, name="desk"),
        Route(desk_auth.DESK + live.PATH, live.events, name="desk_events"),
        Route(desk_auth.DESK + "/ho-so/{id}", desk.dossier, name="desk_dossier"),
        _post(desk_auth.DESK + "/ho-so/{id}/{move}", desk.act, "desk_move"),
        Route(desk_auth.DESK + "/ho-so/{id}/phieu/{number:int}.{fmt}", desk.slip, name="desk_slip"),
        Route(desk_auth.DESK + "/ho-so/{id}/tep/{attachment}", desk.attachment, name="desk_file"),
        _form(desk_auth.DESK + "/tiep-nhan", desk.counter, "counter"),
        # Citizens' feedback and petitions at the desk (the agency's staff).
        Route(desk_feedback.PATH, desk_feedback.feedbacks, name="desk_feedbacks"),
        Route(desk_feedback.PATH + "/{id}", desk_feedback.feedback, name="desk_feedback"),
        _post(desk_feedback.PATH + "/{id}/{move}", desk_feedback.act, "desk_feedback_move"),
        # The province console (province and national administrators, the desk's sign-in).
        Route(CONSOLE, console.home, name="console"),
        Route(CONSOLE + "/tinh/{province}", console.agencies, name="console_agencies"),
        _form(CONSOLE + "/tinh/{province}/nhap", console.onboarding, "console_onboarding"),
        Route(
            CONSOLE + "/tinh/{province}/nhap-co-quan/{job}",
            console.import_status,
            name="console_import",
        ),
        Route(CONSOLE + "/tinh/{province}/mo-dun", console.modules, name="console_modules"),
        _post(CONSOLE + "/tinh/{province}/mo-dun/{module}", console.switch, "console_switch"),
        _form(
            CONSOLE + "/tinh/{province}/mo-dun/{module}/cai-dat",
            console_settings.settings,
            "console_module_settings",
        ),
        _form(
            CONSOLE + "/tinh/{province}/tai-khoan", console_accounts.accounts, "console_accounts"
        ),
        _post(
            CONSOLE + "/tinh/{province}/tai-khoan/{username}/{action}",
            console_accounts.account_action,
            "console_account_action",
        ),
        _form(CONSOLE + "/tinh/{province}/ung-dung", console_accounts.clients, "console_clients"),
        _post(
            CONSOLE + "/tinh/{province}/ung-dung/{client}/vo-hieu-hoa",
            console_accounts.client_disable,
            "console_client_disable",
        ),
        # The province console's dashboard (signed in as the desk is).
        Route(console_dashboard.DASHBOARD, console_dashboard.dashboard, name="console_dashboard"),
        Route(
            console_dashboard.DOSSIERS,
            console_dashboard.dossiers,
            name="console_dashboard_dossiers",
        ),
        # The agency's ISO workspace (its staff, the desk's sign-in).
        Route(ISO, iso_workspace.home, name="iso"),
        _form(ISO + "/tai-lieu", iso_workspace.documents, "iso_documents"),
        Route(ISO + "/tai-lieu/{id}", iso_workspace.document, name="iso_document"),
        # A version's attached file: its download, and the upload to a draft.
        *(
            Route(ISO + f"/tai-lieu/{{id}}/{part}/{{version}}", view, methods=[verb], name=name)
            for part, view, verb, name in (
                ("tep", iso_workspace.document_file, "GET", "iso_document_file"),
                ("dinh-kem", iso_workspace.document_attach, "POST", "iso_document_attach"),
            )
        ),
        _post(ISO + "/tai-lieu/{id}/{move}", iso_workspace.document_move, "iso_document_move"),
        _form(ISO + "/khong-phu-hop", iso_workspace.nonconformities, "iso_nonconformities"),
        _post(
            ISO + "/khong-phu-hop/{id}/{move}",
            iso_workspace.nonconformity_move,
            "iso_nonconformity_move",
        ),
        Route(ISO + "/rui-ro", iso_workspace.risks, methods=["GET", "POST"], name="iso_risks"),
        Route(
            ISO + "/muc-tieu",
            iso_workspace.objectives,
            methods=["GET", "POST"],
            name="iso_objectives",
        ),
        Route(ISO + "/danh-gia", iso_audits.audits, name="iso_audits"),
        *iso_more_routes(),
        *console_yearly_routes(),
    ]


def iso_more_routes() -> list[Route]:
    """The ISO workspace's conformity, yearly report, downloads, audit plans and reviews."""
    audits = ISO + "/danh-gia"
    return [
        Route(ISO + "/cong-bo", iso_conformity.conformity, name="iso_conformity"),
        _post(ISO + "/cong-bo/{move}", iso_conformity.conformity_move, "iso_conformity_move"),
        Route(ISO + "/bao-cao-nam", iso_conformity.yearly, name="iso_yearly"),
        _post(ISO + "/bao-cao-nam/{move}", iso_conformity.yearly_move, "iso_yearly_move"),
        Route(ISO + "/tai-ve", iso_conformity.downloads, name="iso_downloads"),
        Route(iso_models.PATH, iso_models.overview, name="iso_models"),
        Route(iso_models.PATH + "/tep/{id}.{fmt}", iso_models.file, name="iso_process_file"),
        Route(iso_models.PATH + "/thu-tuc/{code}", iso_models.procedure, name="iso_process"),
        _post(iso_models.PATH + "/{move}", iso_models.move, "iso_models_move"),
        Route(
            ISO + "/tai-ve/bao-cao-nam/{id}.{fmt}",
            iso_conformity.yearly_file,
            name="iso_yearly_file",
        ),
        Route(ISO + "/tai-ve/so-theo-doi.{fmt}", iso_conformity.tracking_book, name="iso_book"),
        Route(ISO + "/tai-ve/phieu", iso_conformity.slip, name="iso_slip"),
        _post(audits + "/ke-hoach", iso_audits.create_plan, "iso_new_plan"),
        Route(audits + "/ke-hoach/{id}", iso_audits.plan, name="iso_plan"),
        _post(audits + "/ke-hoach/{id}/phat-hien", iso_audits.record_finding, "iso_finding"),
        _post(audits + "/xem-xet", iso_audits.hold_review, "iso_new_review"),
        Route(audits + "/xem-xet/{id}", iso_audits.review, name="iso_review"),
        _post(
            audits + "/xem-xet/{id}/hanh-dong/{move}", iso_audits.review_action, "iso_review_action"
        ),
    ]


def console_yearly_routes() -> list[Route]:
    """The province console's yearly reports and DOST inspections."""
    base = CONSOLE + "/tinh/{province}/bao-cao-nam"
    checks = CONSOLE + "/tinh/{province}/kiem-tra"
    return [
        Route(checks, console_inspections.year, name="console_inspections"),
        Route(checks + "/par.csv", console_inspections.par_csv, name="console_par_csv"),
        _post(checks + "/nam/{move}", console_inspections.plan_move, "console_inspection_plan"),
        Route(checks + "/{id}", console_inspections.inspection, name="console_inspection"),
        _post(checks + "/{id}/{move}", console_inspections.move, "console_inspection_move"),
        Route(base, console_yearly.board, name="console_yearly"),
        Route(base + "/tong-hop.{fmt}", console_yearly.compiled, name="console_yearly_file"),
        Route(base + "/{id}", console_yearly.report, name="console_yearly_report"),
        Route(
            base + "/{id}/{move}", console_yearly.move, methods=["POST"], name="console_yearly_move"
        ),
    ]


def static_routes() -> list[BaseRoute]:
    """The pages' own CSS (no CDN), without the session."""
    return [Mount(STATIC_PATH, StaticFiles(directory=STATIC), name="web_static")]
