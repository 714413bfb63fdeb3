"""The citizen portal's feedback and petitions (no account): a form per province (from a
procedure's page, the procedure chosen) followed by the answers its agencies published with
the citizens' consent, the code and lookup key once sent, a follow page with the agency's
answer and, once answered, a rating form. Each form posts a CSRF token."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response

from eiso.web import csrf
from eiso.web.pages import render
from eiso.web.portal import failed, forbidden, looked_up, no_province, rating_handler
from eiso.web.run import OperationFailed, run

FOLLOW_PATH = "/phan-anh/theo-doi"
TEXT_FIELDS = ("agency", "kind", "subject", "procedure", "dossier", "content")
CONTACT_FIELDS = ("name", "phone", "email")


def follow_url(code: str, key: str) -> str:
    return f"{FOLLOW_PATH}?{urlencode({'code': code, 'key': key})}"


async def form(request: Request) -> Response:
    """`/tinh/<province>/phan-anh`: GET the form, POST sends it."""
    province_code = request.path_params["province"]
    try:
        data = await run(request, "ProvinceServices", {"province": province_code})
    except OperationFailed as error:
        return failed(request, error)
    if data["province"] is None:
        return failed(request, no_province(province_code))
    agencies = data["publicServices"]
    procedure = request.query_params.get("thu-tuc", "")[:64]
    page: dict[str, Any] = {
        "province": data["province"],
        "agencies": agencies,
        "values": {
            "agency": request.query_params.get("co-quan", ""),
            "kind": "FEEDBACK",
            "subject": "PROCEDURE" if procedure else "AGENCY",
            "procedure": procedure,
        },
        "error": None,
        "published": [],
    }
    if request.method == "GET":
        published = await run(request, "PublishedFeedback", {"province": province_code})
        page["published"] = published["publishedFeedback"]
        return render(request, "feedback_form.html", page)
    posted = await request.form()
    if not csrf.valid(request, posted.get(csrf.FIELD)):
        return forbidden(request)
    values = {name: str(posted.get(name, ""))[:6000] for name in TEXT_FIELDS}
    contact = {name: str(posted.get(f"contact_{name}", ""))[:300] for name in CONTACT_FIELDS}
    page["values"] = {**values, **{f"contact_{k}": v for k, v in contact.items()}}
    page["values"]["consent"] = posted.get("consent") == "yes"
    variables = {
        "input": {
            "agencyId": values["agency"],
            "kind": values["kind"],
            "subject": values["subject"],
            "content": values["content"],
            "procedureCode": values["procedure"] or None,
            "dossierCode": values["dossier"] or None,
            "contact": {k: v or None for k, v in contact.items()},
            "publishConsent": page["values"]["consent"],
        }
    }
    try:
        got = (await run(request, "SubmitFeedback", variables, write=True))["submitFeedback"]
    except OperationFailed as error:
        if error.code == "RATE_LIMITED" or error.status >= 500:
            return failed(request, error)
        page["error"] = error
        return render(request, "feedback_form.html", page, status=error.status)
    return render(
        request,
        "feedback_sent.html",
        {
            "province": data["province"],
            "sent": got,
            "follow": follow_url(got["code"], got["lookupKey"]),
        },
    )


async def follow(request: Request) -> Response:
    return await looked_up(
        request, "feedback_follow.html", "FollowFeedback", "publicFeedback", "feedback", {}
    )


rate = rating_handler("RateFeedbackAnswer", follow_url)
