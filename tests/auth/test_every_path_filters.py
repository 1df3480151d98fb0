"""Every path that hands out resources applies the same access rule to each one, and its audit names
every patient whose record went (issue 11.1), on SQLite and PostgreSQL.

The paths are found by walking the application's route table (as test_every_route does), so a route
added later is exercised without anyone remembering to add it here: every GET route is called with
its path parameters filled from the world below (each id of both departments); the POST routes that
answer with resources get their bodies here; every other route must be in NO_RESOURCES with the
reason it cannot return a resource — an unclassified route fails the test.

The world: department A (Khoa Nội) holds patient pa, department B (Khoa Ngoại) patient pb, and pa's
record points at pb's everywhere FHIR lets it — Observation.hasMember, Encounter.partOf,
DiagnosticReport.result, Patient.link, and pb's Observation points at pa's encounter (for
_revinclude); one Observation was pb's in its first version and is pa's now (history, vread); one is
both patients' (subject pa, performer pb). A department-A doctor calls every path. No response may
carry a word that only pb's record has, and for each record's word a response carries, the request's
audit events must name that record's patients.
"""
from __future__ import annotations

import re

import orjson
from sqlalchemy import func, select
from starlette.testclient import TestClient

from benhan.auth import users
from benhan.auth.actor import Actor
from benhan.clinical.printouts.forms import FORMS
from benhan.store import sync_tables
from benhan.store.repository import Repository
from benhan.store.schema import audit_event, audit_patient
from benhan.web.app import create_app
from tests.auth.test_every_route import ROUTES    # the app's route table, walked
from tests.auth_helpers import token_for
from tests.factories import FHIR_JSON, patient

PASSWORD = "mật khẩu đủ dài cho bệnh viện"

# Routes that cannot hand out a resource of the record, each with the reason. Every route the table
# has that is neither a GET (all called below) nor in RESOURCE_POSTS must be here.
NO_RESOURCES = {
    # Logging in and the account: the user's own credentials.
    ("POST", "/login"): "a login form: a redirect or the form again",
    ("POST", "/login/mfa"): "a second-factor form: a redirect or the form again",
    ("POST", "/logout"): "ends the session: a redirect",
    ("POST", "/logout/everywhere"): "ends the sessions: a redirect",
    ("POST", "/account/password"): "the user's own password form",
    ("POST", "/account/mfa"): "the user's own second-factor form",
    ("POST", "/break-glass"): "opens a grant: a redirect or the form again (tests/auth/test_login.py)",
    ("POST", "/admin/break-glass/{pk}/review"): "records a reviewer's note: a redirect",
    ("POST", "/oauth/consent"): "an OAuth consent: a redirect with a code",
    ("POST", "/auth/token"): "OAuth tokens",
    ("POST", "/auth/revoke"): "OAuth token revocation",
    ("POST", "/auth/introspect"): "OAuth token introspection",
    # Writes through the API answer with the resource the actor just wrote, after the write-scope
    # check (Repository._check_write_scope): nothing of another record.
    ("POST", "/fhir/{type}"): "create: the written resource",
    ("PUT", "/fhir/{type}"): "conditional update: the written resource",
    ("PATCH", "/fhir/{type}"): "conditional patch: the written resource",
    ("DELETE", "/fhir/{type}"): "conditional delete: no resource",
    ("PUT", "/fhir/{type}/{id}"): "update: the written resource",
    ("PATCH", "/fhir/{type}/{id}"): "patch: the written resource",
    ("DELETE", "/fhir/{type}/{id}"): "delete: no resource",
    # The audit trail is append-only: every write is refused (405).
    **{(m, p): "the audit trail refuses writes (405)" for m in ("POST", "PUT", "PATCH", "DELETE")
       for p in ("/fhir/AuditEvent", "/fhir/AuditEvent/{id}")},
    ("POST", "/fhir/AuditEvent/_search"): "the trail's search: called as its GET form (same handler)",
    # Terminology: code systems and value sets, no patient's record.
    **{("POST", p): "terminology: no patient's record" for p in (
        "/fhir/CodeSystem/$lookup", "/fhir/CodeSystem/$validate-code", "/fhir/CodeSystem/$subsumes",
        "/fhir/CodeSystem/{id}/$validate-code", "/fhir/CodeSystem/{id}/$subsumes", "/fhir/ValueSet/$expand",
        "/fhir/ValueSet/$validate-code", "/fhir/ValueSet/{id}/$expand", "/fhir/ValueSet/{id}/$validate-code")},
    # Sync: node credentials, never a user's; what a node receives is its scope (sync.scope.Scope
    # filters every pulled row; hub.serve_fetch checks Consent), tested in tests/sync.
    ("POST", "/sync/enroll"): "a node's enrolment: its credentials",
    ("POST", "/sync/push"): "a node's push: an acknowledgement",
    ("POST", "/sync/fetch"): "node credentials only (a user's token is refused); consent-checked, tests/sync",
    ("POST", "/sync/now"): "starts a sync round: a status",
    ("POST", "/admin/sync/now"): "starts a sync round: a redirect",
    ("POST", "/admin/sync/conflict/{pk}"): "resolves a sync conflict: a redirect",
    ("POST", "/admin/sync/duplicate/{pk}"): "resolves a duplicate pair: a redirect",
    # The clinician app's form posts that only register or search by identity.
    ("POST", "/ui/register/patient"): "registers a new patient: a redirect or the form with what was typed",
    ("POST", "/ui/register/scan"): "reads a CCCD QR code typed in: the form filled with it",
    # Bulk Data: backend clients with system/ scopes only (a user's token gets 403); the status and the
    # files (GETs, called below) go only to the client that asked (tests/web/test_bulk_export.py).
    ("POST", "/fhir/$export"): "a kick-off: 202 with a status URL, or 403 for a user",
    ("POST", "/fhir/Patient/$export"): "a kick-off: 202 with a status URL, or 403 for a user",
    ("POST", "/fhir/Group/{id}/$export"): "a kick-off: 202 with a status URL, or 403 for a user",
    ("DELETE", "/fhir/$export-status/{id}"): "cancels an export: no resource",
    ("POST", "/fhir/$import"): "the facility administrator's import: an OperationOutcome of counts (403 for others)",
    # A node's own reports and encrypted backup copies to the hub: node credentials, an acknowledgement.
    ("POST", "/sync/assessment"): "a node's self-assessment report: an acknowledgement",
    ("PUT", "/sync/backup/{name}"): "a node's encrypted backup copy: an acknowledgement",
    ("POST", "/admin/backup/recovery-key-saved"): "the administrator confirms the recovery key is written down: "
                                                  "a redirect",
}
# GET-only in effect: called below, whatever they answer (a PDF's text is font-encoded, so the print
# view is checked through /print, built from the same forms.gather).
NOT_TEXT = {"/ui/encounters/{id}/print.pdf", "/static"}




# --- the world ------------------------------------------------------------------------------------

A_WORDS = {"Alderamin": "pa", "PANELA": "pa", "ENCOUNTERA": "pa", "REPORTA": "pa", "MOVEDA": "pa"}
B_WORDS = {"Zubenelgenubi": "pb", "HIVSECRETB": "pb", "PARTOFSECRETB": "pb", "REVSECRETB": "pb",
           "MOVEDSECRETB": "pb", "CONFLICTSECRETB": "pb"}
SHARED_WORDS = {"SHAREDAB": ("pa", "pb")}


def _obs(subject: str, word: str, **extra) -> dict:  # noqa: ANN003
    return {"resourceType": "Observation", "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "75622-1"}], "text": word},
            "subject": {"reference": f"Patient/{subject}"}, "effectiveDateTime": "2026-11-20T08:30:00+07:00",
            "valueString": word, **extra}


def _encounter(subject: str, department: str, word: str, **extra) -> dict:  # noqa: ANN003
    return {"resourceType": "Encounter", "status": "in-progress",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"},
            "type": [{"text": word}], "subject": {"reference": f"Patient/{subject}"},
            "period": {"start": "2026-11-20T08:00:00+07:00"},
            "serviceProvider": {"reference": f"Organization/{department}"}, **extra}


def build_world(store) -> dict[str, str]:  # noqa: ANN001
    repo = Repository(store, Actor.system("test-setup"))
    ids: dict[str, str] = {}

    def create(name: str, body: dict) -> str:
        ids[name] = repo.create(body["resourceType"], body).res_id
        return ids[name]
    medicine = create("medicine", {"resourceType": "Organization", "name": "Khoa Nội"})
    surgery = create("surgery", {"resourceType": "Organization", "name": "Khoa Ngoại"})
    pb = create("pb", patient(family="Zubenelgenubi", given=("Thủy",)))
    pa = create("pa", patient(family="Alderamin", given=("Ánh",),
                              link=[{"other": {"reference": f"Patient/{pb}"}, "type": "seealso"}]))
    eb = create("eB", _encounter(pb, surgery, "PARTOFSECRETB"))
    ea = create("eA", _encounter(pa, medicine, "ENCOUNTERA", partOf={"reference": f"Encounter/{eb}"}))
    ob = create("obB", _obs(pb, "HIVSECRETB", encounter={"reference": f"Encounter/{eb}"}))
    create("obB2", _obs(pb, "REVSECRETB", encounter={"reference": f"Encounter/{ea}"}))
    oa = create("obA", _obs(pa, "PANELA", encounter={"reference": f"Encounter/{ea}"},
                            hasMember=[{"reference": f"Observation/{ob}"}],
                            derivedFrom=[{"reference": f"Observation/{ob}"}]))
    create("obShared", _obs(pa, "SHAREDAB", encounter={"reference": f"Encounter/{ea}"},
                            performer=[{"reference": f"Patient/{pb}"}]))
    create("drA", {"resourceType": "DiagnosticReport", "status": "final", "code": {"text": "REPORTA"},
                   "subject": {"reference": f"Patient/{pa}"}, "encounter": {"reference": f"Encounter/{ea}"},
                   "result": [{"reference": f"Observation/{ob}"}, {"reference": f"Observation/{oa}"}]})
    moved = create("obMoved", _obs(pb, "MOVEDSECRETB"))
    repo.update("Observation", moved, {**_obs(pa, "MOVEDA"), "id": moved})     # version 2: pa's
    # A sync edit of pb's result set aside for review (the /admin/sync page lists what waits).
    with store.db.write() as conn:
        sync_tables.add_conflict(conn, res_type="Observation", res_id=ob, kind="conflict", origin_node="node-b",
                                 kept_version=1, their_versions="2", their_deleted=False, detected_at=1,
                                 their_body=orjson.dumps({**_obs(pb, "CONFLICTSECRETB"), "id": ob}))
    user, _ = users.create_user(store, "bs.a", "Bác sĩ khoa A", ["doctor"], departments=[medicine],
                                password=PASSWORD)
    ids["user_pk"] = str(user.pk)
    return ids


RESOURCES = ("pa", "pb", "eA", "eB", "obA", "obB", "obB2", "obShared", "drA", "obMoved", "medicine", "surgery")
TYPE_OF = {"pa": "Patient", "pb": "Patient", "eA": "Encounter", "eB": "Encounter", "drA": "DiagnosticReport",
           "medicine": "Organization", "surgery": "Organization"}
TYPES = ("Patient", "Observation", "Encounter", "DiagnosticReport")
# The searches of each type, with the _include/_revinclude (and :iterate) that follow the world's
# cross-references.
SEARCHES = {
    "Patient": ["_count=100", "_include=Patient:link", "_revinclude=Observation:subject&_revinclude=Encounter:subject",
                "_revinclude=Observation:performer"],
    "Observation": ["_count=100", "_include=Observation:has-member", "_include=Observation:derived-from",
                    "_include=Observation:performer&_include=Observation:subject", "_revinclude=Observation:has-member",
                    "_include=Observation:encounter&_include:iterate=Encounter:part-of",
                    "_include=Observation:encounter&_include:iterate=Encounter:subject"],
    "Encounter": ["_count=100", "_include=Encounter:part-of", "_revinclude=Observation:encounter",
                  "_revinclude=Encounter:part-of", "_include=Encounter:part-of&_include:iterate=Encounter:subject"],
    "DiagnosticReport": ["_count=100", "_include=DiagnosticReport:result",
                         "_include=DiagnosticReport:result&_include:iterate=Observation:has-member"
                         "&_include:iterate=Observation:subject"],
    "Organization": ["_count=100"],
}


def type_of(name: str) -> str:
    return TYPE_OF.get(name, "Observation")


# --- requests -------------------------------------------------------------------------------------

def _fill(path: str, ids: dict[str, str]) -> list[str]:
    """The path with its parameters filled every way the world allows (ids of both departments)."""
    if "{type}/{id}" in path:
        return [u for name in RESOURCES
                for u in _fill(path.replace("{type}/{id}", f"{type_of(name)}/{ids[name]}"), ids)]
    if "{id}" in path:
        if path.startswith(("/ui/patients/", "/fhir/Patient/")):
            names = ("pa", "pb")
        elif path.startswith("/ui/encounters/"):
            names = ("eA", "eB")
        else:
            names = RESOURCES
        return [u for n in names for u in _fill(path.replace("{id}", ids[n], 1), ids)]
    if "{type}" in path:
        return [u for t in TYPES for u in _fill(path.replace("{type}", t), ids)]
    if "{vid}" in path:
        return [path.replace("{vid}", v) for v in ("1", "2")]
    return [re.sub(r"\{\w+\}", "1", path)]


def _queries(path: str, url: str) -> list[str]:
    if path in ("/fhir/{type}", "/fhir/Patient/{id}/{type}", "/fhir/{type}/_search"):
        res_type = url.rstrip("/").rsplit("/", 1)[-1]
        if path == "/fhir/{type}/_search":
            res_type = url.split("/")[-2]
        return SEARCHES.get(res_type, [""])
    if path in ("/fhir", "/fhir/"):
        return ["_type=" + ",".join(TYPES) + "&_count=200", "_type=Observation&_count=200"]
    if path == "/fhir/Patient/{id}/$everything":
        return ["", "_type=Observation,Encounter,DiagnosticReport,Patient", "_count=3"]
    if path in ("/fhir/_history", "/fhir/{type}/_history", "/fhir/{type}/{id}/_history"):
        return ["_count=200"]
    if path == "/ui/encounters/{id}/print":
        return [f"form={f}" for f in FORMS]
    return [""]


def _batch(ids: dict[str, str]) -> dict:
    urls = [f"{type_of(n)}/{ids[n]}" for n in RESOURCES]
    urls += [f"Observation/{ids['obMoved']}/_history/1", f"Observation/{ids['obMoved']}/_history/2"]
    urls += [f"{t}?{q}" for t in TYPES for q in SEARCHES[t]]
    return {"resourceType": "Bundle", "type": "batch",
            "entry": [{"request": {"method": "GET", "url": u}} for u in urls]}


def requests_for(method: str, path: str, ids: dict[str, str]) -> list[tuple[str, str, dict | None, str | None]]:
    """(method, url, JSON body, form body) of each call the route gets."""
    if method == "GET":
        return [("GET", f"{u}?{q}" if q else u, None, None)
                for u in _fill(path, ids) for q in _queries(path, u)]
    if path in ("/fhir", "/fhir/"):
        return [("POST", path, _batch(ids), None)]
    if path == "/fhir/{type}/_search":
        return [("POST", u, None, q) for u in _fill(path, ids) for q in _queries(path, u)]
    if path.startswith("/ui/"):
        # A form post with nothing filled in: refused or answered with the page again.
        return [(method, u, None, "") for u in _fill(path, ids)]
    raise AssertionError(f"{method} {path}: does it return resources? Add it to the requests here, "
                         "or to NO_RESOURCES with the reason it cannot")


def test_every_route_is_classified():
    """The enumeration is exhaustive, and NO_RESOURCES names only routes that exist."""
    table = set(ROUTES)
    assert set(NO_RESOURCES) <= table, sorted(set(NO_RESOURCES) - table)
    unclassified = []
    for method, path in ROUTES:
        if (method, path) in NO_RESOURCES:
            continue
        try:
            requests_for(method, path, {k: "x" for k in [*RESOURCES, "user_pk"]})
        except AssertionError as exc:
            unclassified.append(str(exc))
    assert not unclassified, unclassified
    assert len([r for r in ROUTES if r not in NO_RESOURCES]) > 40


# --- the test -------------------------------------------------------------------------------------

def _last_seq(store) -> int:  # noqa: ANN001
    store.read_audit.flush()
    with store.db.read() as conn:
        return conn.execute(select(func.coalesce(func.max(audit_event.c.seq), 0))).scalar()


def _audited_since(store, seq: int, **where: str) -> set[str]:  # noqa: ANN001
    """The patients named by the audit events after `seq` (of this interaction / outcome)."""
    store.read_audit.flush()
    e, p = audit_event, audit_patient
    q = select(p.c.patient_id).select_from(p.join(e, e.c.seq == p.c.seq)).where(p.c.seq > seq)
    for column, value in where.items():
        q = q.where(e.c[column] == value)
    with store.db.read() as conn:
        return set(conn.execute(q).scalars())


def _login(client: TestClient) -> str:
    page = client.get("/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    client.post("/login", data={"username": "bs.a", "password": PASSWORD, "csrf": csrf})
    return re.search(r'name="csrf" value="([^"]+)"', client.get("/").text).group(1)


def _send(api: TestClient, ui: TestClient, csrf: str, method: str, url: str, body, form):  # noqa: ANN001, ANN202
    if url.startswith("/fhir"):
        if form is not None:
            return api.request(method, url, content=form.encode(),
                               headers={"content-type": "application/x-www-form-urlencoded"})
        return api.request(method, url, json=body, headers=FHIR_JSON if body is not None else None)
    if method == "POST":
        return ui.post(url, data={"csrf": csrf}, follow_redirects=False)
    return ui.request(method, url, follow_redirects=False)


def test_a_department_a_doctor_gets_nothing_of_department_b_on_any_path_and_the_audit_names_everyone(store):
    ids = build_world(store)
    name_of = {v: k for k, v in ids.items()}
    app = create_app(store.config, store)
    leaks, unaudited, failures = [], [], []
    seen_words: set[str] = set()
    calls = prints = 0
    with TestClient(app, raise_server_exceptions=False) as api, TestClient(app, raise_server_exceptions=False) as ui:
        api.headers.update(token_for(store, "user/*.cruds", user_pk=int(ids["user_pk"])))
        csrf = _login(ui)
        for method, path in ROUTES:
            if (method, path) in NO_RESOURCES:
                continue
            for m, url, body, form in requests_for(method, path, ids):
                before = _last_seq(store)
                r = _send(api, ui, csrf, m, url, body, form)
                calls += 1
                where = f"{m} {url}"
                if r.status_code >= 500:
                    failures.append(f"{where}: {r.status_code}")
                if path in NOT_TEXT:
                    continue
                text = r.text
                leaked = [w for w in B_WORDS if w in text]
                if leaked:
                    leaks.append(f"{where}: {leaked}")
                audited = {name_of.get(p, p) for p in _audited_since(store, before)}
                if "/print" in url and r.status_code == 200:
                    # The print event itself names every patient whose record the printout's reads handed out.
                    prints += 1
                    printed = {name_of.get(p, p) for p in _audited_since(store, before, interaction="print")}
                    read = {name_of.get(p, p) for p in _audited_since(store, before, outcome="0")}
                    if not read <= printed:
                        unaudited.append(f"{where}: the print event names {sorted(printed)}, its reads {sorted(read)}")
                for word, owner in {**A_WORDS, **SHARED_WORDS}.items():
                    if word in text:
                        seen_words.add(word)
                        owners = {owner} if isinstance(owner, str) else set(owner)
                        if not owners <= audited:
                            unaudited.append(f"{where}: shows {word} ({sorted(owners)}), audit names {sorted(audited)}")
    assert not (failures or leaks or unaudited), {"5xx": failures, "department B's data": leaks,
                                                  "not audited": unaudited}
    # The test is not vacuous: department A's record and the shared resource did go out.
    assert set(A_WORDS) | set(SHARED_WORDS) <= seen_words, sorted(set(A_WORDS) | set(SHARED_WORDS) - seen_words)
    assert calls > 300 and prints >= len(FORMS)


# --- the rule itself, over any shape of cross-references -------------------------------------------

def test_whatever_references_a_record_holds_a_path_hands_out_only_what_a_direct_read_would(store):
    """Generated records of patients of both departments pointing at each other through any
    compartment or non-compartment reference: every resource $everything, a search with
    _include/_revinclude (:iterate), a compartment search and history return to the department-A
    doctor is one a direct read (vread for an earlier version) gives her, and the request's audit
    names every patient whose record it is."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from benhan import errors
    from benhan.auth.policy import actor_for_user
    from benhan.fhir.indexing import extract
    from benhan.store import access as access_sql
    from benhan.store import compartments

    system = Repository(store, Actor.system("test-setup"))
    medicine = system.create("Organization", {"resourceType": "Organization", "name": "Khoa Nội"}).res_id
    surgery = system.create("Organization", {"resourceType": "Organization", "name": "Khoa Ngoại"}).res_id
    user, _ = users.create_user(store, "bs.a", "Bác sĩ khoa A", ["doctor"], departments=[medicine],
                                password=PASSWORD)
    doctor = actor_for_user(store, user)
    links = st.sampled_from(["hasMember", "derivedFrom", "performer", "focus", "encounter"])
    record = st.lists(st.tuples(st.integers(0, 3), st.lists(st.tuples(links, st.integers(0, 7)), max_size=3)),
                      min_size=1, max_size=8)

    @settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
    @given(record, st.booleans(), st.booleans())
    def any_record(obs_spec, move_one, part_of) -> None:  # noqa: ANN001
        # Patients 0, 1 in department A, 2, 3 in department B; each has an encounter there, and
        # (part_of) A's encounters are part of B's.
        pats = [system.create("Patient", patient()).res_id for _ in range(4)]
        encs = [system.create("Encounter", _encounter(p, surgery, "E")).res_id for p in pats[2:]]
        encs = [system.create("Encounter", _encounter(
            p, medicine, "E", **({"partOf": {"reference": f"Encounter/{encs[i]}"}} if part_of else {}))).res_id
            for i, p in enumerate(pats[:2])] + encs
        made: list[str] = []
        for owner, refs in obs_spec:
            body = _obs(pats[owner], "O")
            for kind, target in refs:
                if kind == "performer":
                    body.setdefault("performer", []).append({"reference": f"Patient/{pats[target % 4]}"})
                elif kind == "encounter":
                    body["encounter"] = {"reference": f"Encounter/{encs[target % 4]}"}
                elif kind == "focus" and made:
                    body.setdefault("focus", []).append({"reference": f"Observation/{made[target % len(made)]}"})
                elif made and kind in ("hasMember", "derivedFrom"):
                    body.setdefault(kind, []).append({"reference": f"Observation/{made[target % len(made)]}"})
            made.append(system.create("Observation", body).res_id)
        if move_one:     # the first result was patient 3's; now it is patient 0's
            system.update("Observation", made[0], {**_obs(pats[0], "O"), "id": made[0]})
        repo = Repository(store, doctor)
        paths = {
            "$everything": lambda: [e.resource for e in compartments.everything(repo, pats[0], count=1000).entries],
            "search": lambda: (lambda r: r.matches + r.included)(repo.search_type("Observation", [
                ("_count", "1000"), ("_include", "Observation:has-member"), ("_include", "Observation:derived-from"),
                ("_include:iterate", "Observation:focus"), ("_include", "Observation:encounter"),
                ("_include:iterate", "Encounter:part-of"),
                ("_include", "Observation:performer"), ("_revinclude", "Observation:has-member")])),
            "compartment": lambda: (lambda r: r.matches + r.included)(compartments.search(
                repo, pats[1], "Observation", [("_include", "Observation:has-member"),
                                               ("_include:iterate", "Observation:derived-from")])),
            "history": lambda: repo.history("Observation", count=1000).entries,
        }
        for name, run in paths.items():
            before = _last_seq(store)
            out = run()
            audited = _audited_since(store, before)
            for b in out:
                check = Repository(store, doctor)
                try:
                    check.vread(b.res_type, b.res_id, str(b.version)) if b.body else check.read(b.res_type, b.res_id)
                except (errors.OutsideCareScope, errors.Forbidden):
                    raise AssertionError(f"{name} handed out {b.res_type}/{b.res_id}/_history/{b.version}, "
                                         "which a direct read refuses") from None
                owners = ({b.res_id} if b.res_type == "Patient" else
                          access_sql.referenced_patients(b.res_type, extract(orjson.loads(b.body)).reference)
                          if b.body else set())
                assert owners <= audited, (name, b.res_type, b.res_id, owners, audited)
    any_record()
