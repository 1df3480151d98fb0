"""The sync review page (/admin/sync): this server's sync status, the conflicts and duplicate
patients waiting for review with their resolve actions, "sync now", and — at a hub — each node's
last contact, backlog, conflicts and traffic, silent nodes flagged. Kept minimal on purpose; the
clinician UI links to it and shows `benhan.sync.status.node_status` on every page."""
from __future__ import annotations

from collections import Counter

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from benhan import errors
from benhan.auth import sessions
from benhan.auth.actor import Actor
from benhan.clinical import chart, patient_link
from benhan.clinical.common import name_of, vn_date
from benhan.store import sync_tables as st
from benhan.store.repository import Repository
from benhan.sync import review, status
from benhan.web import authn
from benhan.web import sync_conflict_view as conflict_view
from benhan.web.i18n import language
from benhan.web.session import session_user
from benhan.web.templates import render

REVIEWERS = frozenset({"doctor", "facility_admin"})
WORDS = {
    "vi": {"title": "Đồng bộ", "status": "Trạng thái", "last": "Lần đồng bộ cuối", "pending": "Thay đổi chờ gửi",
           "conflicts": "Xung đột chờ xem xét", "duplicates": "Người bệnh có thể trùng", "now": "Đồng bộ ngay",
           "kept": "Giữ bản hiện tại", "theirs": "Lấy bản bị gác lại", "same": "Cùng một người",
           "different": "Khác người", "keep": "Hồ sơ giữ lại (hồ sơ kia được liên kết vào)",
           "keep_older": "Hồ sơ đăng ký trước", "replaced": "đã được thay thế", "nodes": "Các cơ sở", "silent": "Im lặng > 48 giờ", "error": "Lỗi gần nhất",
           "refused": "Hub từ chối (ngoài phạm vi của cơ sở)", "recovering": "Sau khi khôi phục bản sao lưu: đang lấy lại dữ liệu của cơ sở từ hub", "recovered": "Đã lấy lại từ hub sau khi khôi phục",
           "none": "Không có.", "field": "Thông tin", "base": "Bản gốc (trước khi sửa)",
           "current": "Bản hiện tại", "set_aside": "Bản bị gác lại", "from": "của", "by": "người sửa",
           "both": "Cả hai nơi cùng sửa", "same_fields": "Hai bản giống nhau ở mọi thông tin.",
           "no_access": "Bạn không có quyền xem hồ sơ này; chỉ thấy số phiên bản.",
           "deleted": "Bản bị gác lại là một lần xoá.", "no_base": "(không còn bản gốc)",
           "unreadable": "Bản bị gác lại không phải là dữ liệu FHIR hợp lệ; không thể so sánh.",
           "chain": "Cơ sở này có {n} bản bị gác lại cho hồ sơ này; “Lấy bản bị gác lại” áp dụng các thay đổi của cả {n} bản, theo thứ tự."},
    "en": {"title": "Sync", "status": "Status", "last": "Last sync", "pending": "Changes waiting to be sent",
           "conflicts": "Conflicts to review", "duplicates": "Possible duplicate patients", "now": "Sync now",
           "kept": "Keep the current version", "theirs": "Take the set-aside version", "same": "Same person",
           "different": "Different people", "keep": "Record kept (the other is linked into it)",
           "keep_older": "The earlier registration", "replaced": "replaced", "nodes": "Facilities", "silent": "Silent > 48 h", "error": "Last error",
           "refused": "Refused by the hub (outside this facility's scope)", "recovering": "After a restore from backup: pulling this facility's data back from the hub", "recovered": "Pulled back from the hub after the restore",
           "none": "None.", "field": "Field", "base": "Original (before the edits)",
           "current": "Current version", "set_aside": "Set-aside version", "from": "from", "by": "edited by",
           "both": "Changed at both ends", "same_fields": "The two versions hold the same information.",
           "no_access": "You may not read this record; only version numbers are shown.",
           "deleted": "The set-aside version is a deletion.", "no_base": "(original not kept)",
           "unreadable": "The set-aside version is not valid FHIR data; it cannot be compared.",
           "chain": "This facility has {n} set-aside versions of this record; “Take the set-aside version” applies the changes of all {n}, in order."},
}


def _reviewer(request: Request):  # noqa: ANN202
    user = session_user(request)
    if user is None:
        raise errors.Unauthenticated("log in first")
    if not REVIEWERS.intersection(user.roles):
        raise errors.Forbidden("reviewing sync conflicts needs the doctor or facility admin role")
    return user


def _pk(request: Request) -> int:
    raw = request.path_params["pk"]
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 18:
        raise errors.RouteNotFound(f"no review item {raw!r}")
    return int(raw)


def _check_csrf(request: Request, form) -> None:  # noqa: ANN001
    session = authn.session(request)
    if session is None or not sessions.check_csrf(session, str(form.get("csrf", ""))):
        raise errors.CsrfRejected()


def _people(store, reviewer: Actor, duplicates: list) -> dict[str, dict]:  # noqa: ANN001
    """Name and birth date of each patient of the pairs the reviewer may read, so they can judge
    (audited reads under the reviewer's own access rules)."""
    repo = Repository(store, reviewer)
    if not chart.may_read(repo, "Patient"):        # a facility admin: no patients (a search would be 403)
        return {}
    ids = sorted({p for d in duplicates for p in (d.patient_a, d.patient_b)})
    out = {}
    for start in range(0, len(ids), 100):          # one search per hundred patients, not a read each
        found = repo.search_type("Patient", [("_id", ",".join(ids[start:start + 100])), ("_count", "100")])
        for m in found.matches:
            body = m.json()
            out[m.res_id] = {"name": name_of(body), "birth": vn_date(body.get("birthDate")),
                             "replaced": patient_link.is_replaced(body)}
    return out


async def page(request: Request) -> Response:
    _reviewer(request)          # refuses (403) anyone who may not review
    store = request.app.state.store
    lang = language(request)

    def gather() -> dict:
        with store.db.read() as conn:
            data = {"conflicts": st.conflicts(conn), "duplicates": st.duplicates(conn)}
        data["people"] = _people(store, authn.actor(request), data["duplicates"])
        # Each conflict's differing fields side by side, read as the reviewer (audited, access-checked).
        repo = Repository(store, authn.actor(request))
        data["views"] = [conflict_view.view(repo, c, lang) for c in data["conflicts"]]
        chains = Counter((c.res_type, c.res_id, c.origin_node) for c in data["conflicts"] if c.kind != "invalid")
        for v in data["views"]:      # "take the set-aside version" applies all of that node's, in order
            v["chain"] = chains[(v["row"].res_type, v["row"].res_id, v["row"].origin_node)]
        data["sync"] = status.node_status(store)
        data["nodes"] = status.hub_dashboard(store) if store.config.role == "hub" else []
        return data
    return render(request, "sync/review.html", words=WORDS[lang], **await run_in_threadpool(gather))


async def resolve(request: Request) -> Response:
    user = _reviewer(request)
    form = await request.form()
    _check_csrf(request, form)
    await run_in_threadpool(review.resolve_conflict, request.app.state.store, _pk(request),
                            str(form.get("choice", "")), by=user.username)
    return RedirectResponse("/admin/sync", status_code=303)


async def duplicate(request: Request) -> Response:
    user = _reviewer(request)
    form = await request.form()
    _check_csrf(request, form)
    # "Same person" links the records with the clinician app's code (clinical/patient_link.py).
    await run_in_threadpool(lambda: review.review_duplicate(
        request.app.state.store, _pk(request), str(form.get("decision", "")), by=user.username,
        link=patient_link.link, keep=str(form.get("keep", "")) or None, actor=authn.actor(request)))
    return RedirectResponse("/admin/sync", status_code=303)


async def now(request: Request) -> Response:
    _reviewer(request)
    form = await request.form()
    _check_csrf(request, form)
    runner = getattr(request.app.state, "sync_runner", None)
    if runner is not None:
        runner.sync_now()
    return RedirectResponse("/admin/sync", status_code=303)


routes = [
    Route("/admin/sync", page, methods=["GET"]),
    Route("/admin/sync/conflict/{pk}", resolve, methods=["POST"]),
    Route("/admin/sync/duplicate/{pk}", duplicate, methods=["POST"]),
    Route("/admin/sync/now", now, methods=["POST"]),
]
