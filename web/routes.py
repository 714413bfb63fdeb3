"""The web room's routes, mounted by the app (core/app.py) behind the session cookie that
keeps the forms' CSRF token."""

from __future__ import annotations

import pathlib

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


def page_routes() -> list[Route]:
    """The pages (each needs the session: its forms carry the CSRF token)."""
    return [
        Route("/", portal.home, name="home"),
        Route("/tinh/{province}", portal.province, name="province"),
        Route(
            "/tinh/{province}/thu-tuc/{procedure}",
            portal.procedure,
            methods=["GET", "POST"],
            name="procedure",
        ),
        Route("/tinh/{province}/tra-cuu", portal.lookup, name="province_lookup"),
        Route("/tinh/{province}/iso", portal.conformity, name="province_conformity"),
        Route(LOOKUP_PATH, portal.lookup, name="lookup"),
        Route("/lookup", portal.lookup, name="lookup_en"),
        Route(LOOKUP_PATH + "/danh-gia", portal.rate, methods=["POST"], name="rate"),
        # Feedback and petitions (phản ánh, kiến nghị), no account.
        Route(
            "/tinh/{province}/phan-anh",
            feedback.form,
            methods=["GET", "POST"],
            name="feedback_form",
        ),
        Route(feedback.FOLLOW_PATH, feedback.follow, name="feedback_follow"),
        Route("/phan-anh/danh-gia", feedback.rate, methods=["POST"], name="feedback_rate"),
        # The officer's desk (signed in through eiso's OAuth server, web/desk_auth.py).
        Route(desk_auth.SIGN_IN, desk_auth.sign_in, name="desk_sign_in"),
        Route(desk_auth.CALLBACK, desk_auth.callback, name="desk_callback"),
        Route(desk_auth.SIGN_OUT, desk_auth.sign_out, methods=["POST"], name="desk_sign_out"),
        Route(desk_auth.DESK, desk.queue, name="desk"),
        Route(desk_auth.DESK + live.PATH, live.events, name="desk_events"),
        Route(desk_auth.DESK + "/ho-so/{id}", desk.dossier, name="desk_dossier"),
        Route(desk_auth.DESK + "/ho-so/{id}/{move}", desk.act, methods=["POST"], name="desk_move"),
        Route(desk_auth.DESK + "/ho-so/{id}/phieu/{number:int}.{fmt}", desk.slip, name="desk_slip"),
        Route(desk_auth.DESK + "/ho-so/{id}/tep/{attachment}", desk.attachment, name="desk_file"),
        Route(desk_auth.DESK + "/tiep-nhan", desk.counter, methods=["GET", "POST"], name="counter"),
        # Citizens' feedback and petitions at the desk (the agency's staff).
        Route(desk_feedback.PATH, desk_feedback.feedbacks, name="desk_feedbacks"),
        Route(desk_feedback.PATH + "/{id}", desk_feedback.feedback, name="desk_feedback"),
        Route(
            desk_feedback.PATH + "/{id}/{move}",
            desk_feedback.act,
            methods=["POST"],
            name="desk_feedback_move",
        ),
        # The province console (province and national administrators, the desk's sign-in).
        Route(CONSOLE, console.home, name="console"),
        Route(CONSOLE + "/tinh/{province}", console.agencies, name="console_agencies"),
        Route(
            CONSOLE + "/tinh/{province}/nhap",
            console.onboarding,
            methods=["GET", "POST"],
            name="console_onboarding",
        ),
        Route(
            CONSOLE + "/tinh/{province}/nhap-co-quan/{job}",
            console.import_status,
            name="console_import",
        ),
        Route(CONSOLE + "/tinh/{province}/mo-dun", console.modules, name="console_modules"),
        Route(
            CONSOLE + "/tinh/{province}/mo-dun/{module}",
            console.switch,
            methods=["POST"],
            name="console_switch",
        ),
        Route(
            CONSOLE + "/tinh/{province}/mo-dun/{module}/cai-dat",
            console_settings.settings,
            methods=["GET", "POST"],
            name="console_module_settings",
        ),
        Route(
            CONSOLE + "/tinh/{province}/tai-khoan",
            console_accounts.accounts,
            methods=["GET", "POST"],
            name="console_accounts",
        ),
        Route(
            CONSOLE + "/tinh/{province}/tai-khoan/{username}/{action}",
            console_accounts.account_action,
            methods=["POST"],
            name="console_account_action",
        ),
        Route(
            CONSOLE + "/tinh/{province}/ung-dung",
            console_accounts.clients,
            methods=["GET", "POST"],
            name="console_clients",
        ),
        Route(
            CONSOLE + "/tinh/{province}/ung-dung/{client}/vo-hieu-hoa",
            console_accounts.client_disable,
            methods=["POST"],
            name="console_client_disable",
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
        Route(
            ISO + "/tai-lieu",
            iso_workspace.documents,
            methods=["GET", "POST"],
            name="iso_documents",
        ),
        Route(ISO + "/tai-lieu/{id}", iso_workspace.document, name="iso_document"),
        # A version's attached file: its download, and the upload to a draft.
        *(
            Route(ISO + f"/tai-lieu/{{id}}/{part}/{{version}}", view, methods=[verb], name=name)
            for part, view, verb, name in (
                ("tep", iso_workspace.document_file, "GET", "iso_document_file"),
                ("dinh-kem", iso_workspace.document_attach, "POST", "iso_document_attach"),
            )
        ),
        Route(
            ISO + "/tai-lieu/{id}/{move}",
            iso_workspace.document_move,
            methods=["POST"],
            name="iso_document_move",
        ),
        Route(
            ISO + "/khong-phu-hop",
            iso_workspace.nonconformities,
            methods=["GET", "POST"],
            name="iso_nonconformities",
        ),
        Route(
            ISO + "/khong-phu-hop/{id}/{move}",
            iso_workspace.nonconformity_move,
            methods=["POST"],
            name="iso_nonconformity_move",
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
        Route(
            ISO + "/cong-bo/{move}",
            iso_conformity.conformity_move,
            methods=["POST"],
            name="iso_conformity_move",
        ),
        Route(ISO + "/bao-cao-nam", iso_conformity.yearly, name="iso_yearly"),
        Route(
            ISO + "/bao-cao-nam/{move}",
            iso_conformity.yearly_move,
            methods=["POST"],
            name="iso_yearly_move",
        ),
        Route(ISO + "/tai-ve", iso_conformity.downloads, name="iso_downloads"),
        Route(iso_models.PATH, iso_models.overview, name="iso_models"),
        Route(iso_models.PATH + "/tep/{id}.{fmt}", iso_models.file, name="iso_process_file"),
        Route(iso_models.PATH + "/thu-tuc/{code}", iso_models.procedure, name="iso_process"),
        Route(
            iso_models.PATH + "/{move}", iso_models.move, methods=["POST"], name="iso_models_move"
        ),
        Route(
            ISO + "/tai-ve/bao-cao-nam/{id}.{fmt}",
            iso_conformity.yearly_file,
            name="iso_yearly_file",
        ),
        Route(ISO + "/tai-ve/so-theo-doi.{fmt}", iso_conformity.tracking_book, name="iso_book"),
        Route(ISO + "/tai-ve/phieu", iso_conformity.slip, name="iso_slip"),
        Route(audits + "/ke-hoach", iso_audits.create_plan, methods=["POST"], name="iso_new_plan"),
        Route(audits + "/ke-hoach/{id}", iso_audits.plan, name="iso_plan"),
        Route(
            audits + "/ke-hoach/{id}/phat-hien",
            iso_audits.record_finding,
            methods=["POST"],
            name="iso_finding",
        ),
        Route(audits + "/xem-xet", iso_audits.hold_review, methods=["POST"], name="iso_new_review"),
        Route(audits + "/xem-xet/{id}", iso_audits.review, name="iso_review"),
        Route(
            audits + "/xem-xet/{id}/hanh-dong/{move}",
            iso_audits.review_action,
            methods=["POST"],
            name="iso_review_action",
        ),
    ]


def console_yearly_routes() -> list[Route]:
    """The province console's yearly reports and DOST inspections."""
    base = CONSOLE + "/tinh/{province}/bao-cao-nam"
    checks = CONSOLE + "/tinh/{province}/kiem-tra"
    return [
        Route(checks, console_inspections.year, name="console_inspections"),
        Route(checks + "/par.csv", console_inspections.par_csv, name="console_par_csv"),
        Route(
            checks + "/nam/{move}",
            console_inspections.plan_move,
            methods=["POST"],
            name="console_inspection_plan",
        ),
        Route(checks + "/{id}", console_inspections.inspection, name="console_inspection"),
        Route(
            checks + "/{id}/{move}",
            console_inspections.move,
            methods=["POST"],
            name="console_inspection_move",
        ),
        Route(base, console_yearly.board, name="console_yearly"),
        Route(base + "/tong-hop.{fmt}", console_yearly.compiled, name="console_yearly_file"),
        Route(base + "/{id}", console_yearly.report, name="console_yearly_report"),
        Route(
            base + "/{id}/{move}",
            console_yearly.move,
            methods=["POST"],
            name="console_yearly_move",
        ),
    ]


def static_routes() -> list[BaseRoute]:
    """The pages' own CSS (no CDN), without the session."""
    return [Mount(STATIC_PATH, StaticFiles(directory=STATIC), name="web_static")]
