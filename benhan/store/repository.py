"""The FHIR interactions (http://hl7.org/fhir/R4/http.html), one function each, named as in the
spec, transport-free: they take parsed input and an Actor and return what happened.

Every write is one database transaction holding the resource, version, index, change-log and
audit rows. Everything that needs no database (validation, index extraction, hashing) happens
before the transaction opens.
"""
from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, bindparam, func, select

from benhan import errors
from benhan.auth.actor import Actor
from benhan.errors import Detail
from benhan.fhir import patch as fhir_patch
from benhan.fhir import search as fhir_search
from benhan.fhir.indexing import extract
from benhan.fhir.references import ID_RE
from benhan.fhir.resource_json import content_hash, loads
from benhan.store import access as access_sql
from benhan.store import audit_log
from benhan.store.audit_log import AuditRecord
from benhan.store import includes
from benhan.store import act_rules, retention_guard, signed_versions, write_rules
from benhan.store.release import Gate, current_with_patients_sql, currents_with_patients_sql
from benhan.store.search import SYSTEM, count_query, page_query
from benhan.store.store import Store
from benhan.store.writer import PendingWrite, Stored, decode_body, fetch_all, write_all
from benhan.store.schema import change_log, resource, resource_version


APPEND_ONLY_TYPE = "AuditEvent"
_INTERACTION = {"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}
_LETTER = {"POST": "c", "PUT": "u", "PATCH": "u", "DELETE": "d"}
_VERB = {"c": "create", "r": "read", "u": "update", "d": "delete", "s": "search"}
# search_all_among: values per search, well inside fhir.search.MAX_VALUES with the caller's other items.
VALUES_PER_SEARCH = 100


@dataclass
class VersionBody:
    res_type: str
    res_id: str
    version: int
    last_updated: int
    deleted: bool
    body: bytes | None
    method: str = "PUT"
    pk: int = 0
    current: bool = False       # known to be its resource's current version (store.release)

    def json(self) -> dict:
        return loads(self.body) if self.body else {}


@dataclass
class SearchResult:
    request: fhir_search.SearchRequest
    matches: list[VersionBody]
    has_next: bool
    total: int | None
    next_cursor: str | None = None
    included: list[VersionBody] = field(default_factory=list)
    patients: set[str] = field(default_factory=set)   # whose records the page shows (audit)
    included_cut: bool = False      # _include/_revinclude brought in the most a page may (includes.MAX_INCLUDED)


@dataclass
class HistoryResult:
    entries: list[VersionBody]
    next_cursor: int | None
    total: int | None


def _read_statement(version_clause):  # noqa: ANN001, ANN202
    r, v = resource, resource_version
    return (select(v.c.version, v.c.last_updated, v.c.deleted, v.c.encoding, v.c.body, v.c.method, r.c.pk,
                   r.c.version.label("current_version"))
            .select_from(r.join(v, v.c.resource_pk == r.c.pk))
            .where(and_(r.c.res_type == bindparam("t"), r.c.res_id == bindparam("i"), version_clause)))


# Built once: constructing a select per call cost more CPU than SQLite's own work for a read.
_READ_VERSION = _read_statement(resource_version.c.version == bindparam("v"))
# The current version, the read by id's statement, as driver SQL (writer.fetch_all): executed
# through SQLAlchemy it cost more CPU than SQLite's part of the read (same columns as _READ_VERSION).
_READ_CURRENT_SQL = (f"SELECT v.version, v.last_updated, v.deleted, v.encoding, v.body, v.method, r.pk, r.version "
                     f"FROM {resource.name} AS r JOIN {resource_version.name} AS v ON v.resource_pk = r.pk "
                     f"WHERE r.res_type = ? AND r.res_id = ? AND v.version = r.version")


def now_us() -> int:
    return time.time_ns() // 1000


def check_id(res_id: str) -> None:
    if not isinstance(res_id, str) or not ID_RE.match(res_id):
        raise errors.InvalidId(f"{res_id!r} is not a valid FHIR id (1–64 of A-Z a-z 0-9 - .)")


class Repository:
    def __init__(self, store: Store, actor: Actor):
        self.store = store
        self.actor = actor
        self._role = " ".join(actor.roles) or None
        # Patients created by this repository (one request, one Bundle): a scoped user may write
        # about a patient they have just registered in the same transaction.
        self._new_patients: set[str] = set()
        self._released: set[str] = set()     # whose records this repository handed out

    # --- helpers -------------------------------------------------------------------------------
    def _check_type(self, res_type: str) -> None:
        if res_type not in self.store.resource_types:
            raise errors.UnknownResourceType(f"{res_type!r} is not a FHIR R4 resource type")

    def _audit(self, interaction: str, *, patients: Any = (), **kw: Any) -> AuditRecord:
        patients = tuple(sorted(patients))
        access = self.actor.access
        purpose = ("BTG" if access is not None and access.scope.break_glass
                   and not access.scope.break_glass.isdisjoint(patients) else None)
        return AuditRecord(recorded=now_us(), interaction=interaction, agent=self.actor.name,
                           source_address=self.actor.source_address, patients=patients, role=self._role,
                           client_id=self.actor.client_id, purpose=purpose, **kw)

    def _audit_read(self, interaction: str, **kw: Any) -> None:
        self.store.read_audit.add(self._audit(interaction, **kw))

    # --- access rules (store.access; decided by auth.policy) -----------------------------------
    def _limited(self, letter: str, res_type: str, interaction: str, **audit: Any) -> bool:
        """Whether the actor is limited to the patients in their scope for this; refuses (403,
        audited) when their role or token does not permit it at all."""
        access = self.actor.access
        if access is None:
            return False
        limited = access.patient_limited(letter, res_type)
        if limited is None:
            self._audit_read(interaction, res_type=res_type, outcome="4", **audit)
            raise errors.Forbidden(f"you may not {_VERB[letter]} {res_type} resources")
        return limited

    def permit(self, letter: str, res_type: str, interaction: str) -> None:
        """Refuse (403, audited) unless the actor may do `letter` on res_type at all (operations
        that do not go through the interactions below: terminology, $everything)."""
        self._limited(letter, res_type, interaction)

    def check_patient_visible(self, conn, patient_id: str, interaction: str) -> None:  # noqa: ANN001
        """Refuse (403, audited) unless the actor may read this patient's record."""
        access = self.actor.access
        if access is None:
            return
        limited = self._limited("r", access_sql.PATIENT, interaction, res_id=patient_id)
        if limited and not access_sql.patient_in_scope(conn, access.scope, patient_id):
            self._refuse_outside_scope(interaction, access_sql.PATIENT, patient_id, patients={patient_id})

    def readable_types(self, types: tuple[str, ...] | None) -> tuple[str, ...] | None:
        """The types (of those asked for; None: all) the actor may read; None when unrestricted."""
        access = self.actor.access
        if access is None or access.mode("r", "*"):      # unrestricted, or every type readable
            return types
        return tuple(t for t in (types or sorted(self.store.resource_types)) if access.mode("r", t))

    def _refuse_outside_scope(self, interaction: str, res_type: str, res_id: str | None, *,
                              conn=None, pk: int | None = None, patients: Any = ()) -> None:  # noqa: ANN001
        """403, audited with the patients concerned: an attempt on a record is part of "who looked
        at this patient's record" (the auditor sees it; the caller learns nothing)."""
        if pk is not None and conn is not None:
            patients = {res_id} if res_type == access_sql.PATIENT else access_sql.patients_of(conn, [pk])[pk]
        self._audit_read(interaction, res_type=res_type, res_id=res_id, outcome="4", patients=patients)
        raise errors.OutsideCareScope()

    def _require_some(self, letter: str, res_types: list[str], interaction: str) -> None:
        access = self.actor.access
        if access is not None and not any(access.mode(letter, t) for t in res_types):
            self._audit_read(interaction, outcome="4")
            raise errors.Forbidden(f"you may not {_VERB[letter]} any of these resource types")

    def _search_filter(self, res_types: list[str]):  # noqa: ANN202
        access = self.actor.access
        return None if access is None else access_sql.search_condition(access, "s", res_types)

    def _check_linked_types(self, criteria, interaction: str) -> None:  # noqa: ANN001
        """A chain or _has searches the resources of the types it names: one the actor may not
        search at all is refused (403, audited), as a direct search of it would be. An untyped
        chain (subject.name=x) keeps the target types the actor may search, like a system search
        over several types, and is refused only when none is left; the rows of those it keeps are
        limited in SQL (search.Visibility)."""
        access = self.actor.access
        if access is None:
            return
        for c in criteria:
            if c.has is not None:
                self._limited("s", c.has.source_type, interaction, query=c.key)
                self._check_linked_types([c.has.criterion], interaction)
            elif c.chain:
                open_links = [inner for t, inner in c.chain if access.mode("s", t)]
                if not open_links:
                    types = sorted({t for t, _ in c.chain})
                    self._audit_read(interaction, res_type=types[0], outcome="4", query=c.key)
                    raise errors.Forbidden(f"you may not search {' or '.join(types)} resources ({c.key})")
                self._check_linked_types(open_links, interaction)

    def gate(self, conn) -> Gate:  # noqa: ANN001
        """The way out for what this request hands back (store.release): every path that returns
        resources passes them through one, and audits the patients it collected."""
        return Gate(conn, self.actor.access, self._released)

    @property
    def released(self) -> set[str]:
        """The patients whose records this repository has handed out so far (a printout built
        from several reads names them all in its print event)."""
        return set(self._released)

    def _check_write_scope(self, pending: PendingWrite) -> None:
        if pending.res_type == APPEND_ONLY_TYPE:
            # Whoever asks: AuditEvents are written by the server into the trail, never stored as
            # resources (they would be unreachable, /fhir/AuditEvent reads the trail).
            raise errors.MethodNotAllowed("the audit trail is append-only and written by the server")
        letter = "c" if pending.create_only else _LETTER.get(pending.method, "u")
        interaction = _INTERACTION.get(pending.method, "update")
        limited = self._limited(letter, pending.res_type, interaction, res_id=pending.res_id)
        if pending.res_type == access_sql.PATIENT and pending.create_only:
            self._new_patients.add(pending.res_id)
        if not limited:
            return
        access = self.actor.access
        assert access is not None
        refs = access_sql.referenced_patients(pending.res_type, pending.index.reference if pending.index else ())
        refs -= self._new_patients
        with self.store.db.read() as conn:
            if not pending.create_only:
                row = conn.execute(select(resource.c.pk).where(and_(
                    resource.c.res_type == pending.res_type, resource.c.res_id == pending.res_id))).first()
                if row is not None and not access_sql.is_visible(conn, access, letter, pending.res_type, row.pk):
                    self._refuse_outside_scope(interaction, pending.res_type, pending.res_id, conn=conn, pk=row.pk)
            if refs:
                allowed = access_sql.patients_in_scope(access.scope).subquery()
                found = set(conn.execute(select(allowed.c.patient_id).where(
                    allowed.c.patient_id.in_(sorted(refs)))).scalars())
                if refs - found:
                    self._refuse_outside_scope(interaction, pending.res_type, pending.res_id, patients=refs)

    def prepare(self, method: str, res_type: str, res_id: str, body: dict, *,
                if_match: int | None = None, create_only: bool = False) -> PendingWrite:
        """Validate the resource and compute its hash and index rows, outside any transaction."""
        body = dict(body)
        body["id"] = res_id
        issues = self.store.validate(body)
        if issues:
            raise errors.ValidationFailed(
                f"{res_type}/{res_id}: {len(issues)} problem(s), first: {issues[0].message}",
                expression=issues[0].expression, details=validation_details(issues))
        pending = PendingWrite(method, res_type, res_id, body, content_hash(body), extract(body),
                               if_match=if_match, create_only=create_only)
        self._check_write_scope(pending)
        self._check_acts(pending)
        write_rules.check_format(res_type, body)        # CCCD, BHYT card: store.write_rules
        return pending

    def _check_acts(self, pending: PendingWrite) -> None:
        """A part of a resource only a clinical act may change (store.act_rules): compared with
        the stored version, read only when the actor lacks such an act for this type."""
        access = self.actor.access
        if access is None or access.acts is None:
            return
        rules = act_rules.guarded(pending.res_type, access.acts)
        if not rules:
            return
        old = None
        if not pending.create_only:
            with self.store.db.read() as conn:
                found = self._load(conn, pending.res_type, pending.res_id)
            old = found.json() if found is not None and not found.deleted else None
        act_rules.check(rules, pending.res_type, pending.res_id, old, pending.resource)

    def commit(self, pending: list[PendingWrite], interaction: str,
               also_audit: tuple[AuditRecord, ...] = (), before: Any = None) -> list[Stored]:
        """Write the prepared versions and their audit rows in one transaction (shared with other
        writes waiting at the same moment, on SQLite: see store.group_commit). `also_audit`: events
        that describe the whole change (a patient link), recorded in the same transaction. `before`:
        a function of the connection run first in the same transaction (the pharmacy's stock ledger
        rows for a dispense: both stand or neither does)."""
        return self.store.group_commit.run(self._commit_work(pending, interaction, also_audit, before))

    async def commit_async(self, pending: list[PendingWrite], interaction: str) -> list[Stored]:
        """commit() awaited on the event loop (SQLite: store.group_commit.run_async)."""
        return await self.store.group_commit.run_async(self._commit_work(pending, interaction, (), None))

    def _commit_work(self, pending: list[PendingWrite], interaction: str, also_audit: tuple[AuditRecord, ...],
                     before: Any):  # noqa: ANN202
        """The transaction's work for commit(), a function of the connection."""
        released = retention_guard.released()

        def work(conn) -> list[Stored]:  # noqa: ANN001
            if before is not None:
                before(conn)
            # A deletion's patients come from the version it ends (it has no index rows of its own).
            deleted = _deleted_patients(conn, [p for p in pending if p.method == "DELETE"])
            # One current Patient per CCCD/BHYT value, decided inside this transaction (race-free).
            write_rules.check_unique(conn, [(p.res_type, p.res_id, p.resource) for p in pending],
                                     postgres=not self.store.db.is_sqlite)
            signed_versions.check(conn, pending)     # a signed version is never changed or deleted
            retention_guard.check(conn, pending, released)   # nor a record before its TT 33 end date
            results = write_all(conn, pending, now_us=now_us(), node_id=self.store.node_id,
                                lock=not self.store.db.is_sqlite)
            audit_log.write(conn, [self._audit(_INTERACTION.get(p.method, interaction),
                                               res_type=r.res_type, res_id=r.res_id, version=r.version,
                                               patients=deleted.get(p.res_id) or _write_patients(p))
                                   for p, r in zip(pending, results)] + list(also_audit))
            return results
        return work

    # --- read ----------------------------------------------------------------------------------
    def _load(self, conn, res_type: str, res_id: str, version: int | None = None) -> VersionBody | None:  # noqa: ANN001
        """The version asked for (None: the current one); `current` tells whether it is the current one."""
        if version is None:
            rows = fetch_all(conn, _READ_CURRENT_SQL, (res_type, res_id))
            if not rows:
                return None
            v, last_updated, deleted, encoding, body, method, pk, current = rows[0]
        else:
            row = conn.execute(_READ_VERSION, {"t": res_type, "i": res_id, "v": version}).first()
            if row is None:
                return None
            v, last_updated, deleted, encoding, body, method, pk, current = row
        deleted = bool(deleted)         # the driver's 0/1 on SQLite
        return VersionBody(res_type, res_id, v, last_updated, deleted,
                           decode_body(encoding, body) if not deleted else None, method, pk, current=v == current)

    def _load_visible(self, interaction: str, res_type: str, res_id: str,
                      version: int | None = None) -> tuple[VersionBody | None, set[str], bool]:
        """Load a version, check the actor may see it; (found, its patients, the resource exists).
        What is found goes out through the gate (store.release): an earlier version is held to
        the patients *it* is about, not only those of the current one."""
        limited = self._limited("r", res_type, interaction, res_id=res_id)
        with self.store.db.read() as conn:
            found = self._load(conn, res_type, res_id, version)
            exists = found is not None or (version is not None and conn.execute(
                select(resource.c.pk).where(and_(resource.c.res_type == res_type, resource.c.res_id == res_id))
            ).first() is not None)
            gate = self.gate(conn)
            if found is not None and not found.deleted:
                if not gate.release_one(found, current=found.current):
                    # Audited with whose that version is (an earlier one may be another patient's).
                    self._refuse_outside_scope(interaction, res_type, res_id, patients=gate.withheld)
            elif limited and exists:
                # Nothing to hand out (a deletion, a version that is not there): whether the
                # resource is the actor's to ask about is decided on its current version.
                pk = found.pk if found else conn.execute(select(resource.c.pk).where(and_(
                    resource.c.res_type == res_type, resource.c.res_id == res_id))).scalar()
                assert self.actor.access is not None
                if not access_sql.is_visible(conn, self.actor.access, "r", res_type, pk):
                    self._refuse_outside_scope(interaction, res_type, res_id, conn=conn, pk=pk)
        return found, gate.patients, exists

    def read(self, res_type: str, res_id: str) -> VersionBody:
        self._check_type(res_type)
        check_id(res_id)
        if self.store.db.is_sqlite:
            found, patients, _ = self._load_visible("read", res_type, res_id)
        else:
            found, patients = self._read_pg(res_type, res_id)
        return self._read_answer(res_type, res_id, found, patients)

    async def read_on_loop(self, res_type: str, res_id: str) -> VersionBody | None:
        """read() on PostgreSQL answered on the event loop (Database.loop_reads): the version and the
        gate's lookup in one statement, one round trip, no worker thread. None when this read needs
        more than that statement — an actor limited to the patients in their scope (the scope check
        reads the database in the same snapshot): the caller then runs read() on a worker thread."""
        self._check_type(res_type)
        check_id(res_id)
        if self._limited("r", res_type, "read", res_id=res_id):
            return None
        rows = await self.store.db.loop_reads.fetch_batched(current_with_patients_sql(res_type, "%s"),
                                                           currents_with_patients_sql(res_type), res_type, res_id)
        found, patients = self._released_pg(res_type, res_id, rows, None, limited=False)
        return self._read_answer(res_type, res_id, found, patients)

    def _read_pg(self, res_type: str, res_id: str) -> tuple[VersionBody | None, set[str]]:
        """The read by id on PostgreSQL: the version and whose record it is in one statement; alone
        (autocommit: one round trip) unless the actor is limited to the patients in their scope,
        whose check then reads in the same snapshot."""
        limited = self._limited("r", res_type, "read", res_id=res_id)
        sql = current_with_patients_sql(res_type)
        if not limited:
            with self.store.db.read_single() as conn:
                rows = fetch_all(conn, sql, (res_type, res_id))
            return self._released_pg(res_type, res_id, rows, None, limited=False)
        with self.store.db.read() as conn:
            return self._released_pg(res_type, res_id, fetch_all(conn, sql, (res_type, res_id)), conn, limited=True)

    def _released_pg(self, res_type: str, res_id: str, rows: list[tuple], conn,  # noqa: ANN001
                     *, limited: bool) -> tuple[VersionBody | None, set[str]]:
        """_load_visible for the rows of current_with_patients_sql (`conn`: the read's transaction,
        needed only when `limited`)."""
        gate = self.gate(conn)
        if not rows:
            return None, gate.patients
        v, last_updated, deleted, encoding, body, method, pk, _, indexed = rows[0]
        deleted = bool(deleted)
        found = VersionBody(res_type, res_id, v, last_updated, deleted,
                            decode_body(encoding, body) if not deleted else None, method, pk, current=True)
        if not deleted:
            if not gate.release_current(found, indexed or ()):
                self._refuse_outside_scope("read", res_type, res_id, patients=gate.withheld)
        elif limited:
            assert self.actor.access is not None
            if not access_sql.is_visible(conn, self.actor.access, "r", res_type, pk):
                self._refuse_outside_scope("read", res_type, res_id, conn=conn, pk=pk)
        return found, gate.patients

    def _read_answer(self, res_type: str, res_id: str, found: VersionBody | None,
                     patients: set[str]) -> VersionBody:
        """The read's audit (buffered) and its answer: the version, 404 or 410."""
        self._audit_read("read", res_type=res_type, res_id=res_id, version=found.version if found else None,
                         outcome="0" if found and not found.deleted else "4", patients=patients)
        if found is None:
            raise errors.NotFound(f"{res_type}/{res_id} is not known")
        if found.deleted:
            raise errors.Gone(f"{res_type}/{res_id} was deleted (version {found.version})")
        return found

    def vread(self, res_type: str, res_id: str, version: str) -> VersionBody:
        self._check_type(res_type)
        check_id(res_id)
        if not (version.isascii() and version.isdigit() and len(version) <= 10 and int(version) < 2**31):
            raise errors.InvalidVersion(f"{version!r} is not a version id of this server")
        found, patients, exists_at_all = self._load_visible("vread", res_type, res_id, int(version))
        self._audit_read("vread", res_type=res_type, res_id=res_id, version=int(version),
                         outcome="0" if found else "4", patients=patients)
        if found is None:
            if exists_at_all:
                raise errors.VersionNotFound(f"{res_type}/{res_id} has no version {version}")
            raise errors.NotFound(f"{res_type}/{res_id} is not known")
        if found.deleted:
            raise errors.Gone(f"{res_type}/{res_id} version {version} is a deletion")
        return found

    # --- write ---------------------------------------------------------------------------------
    def _body_type(self, res_type: str, body: Any) -> None:
        if not isinstance(body, dict) or "resourceType" not in body:
            raise errors.NotAResource("the body must be a JSON object with a resourceType")
        if body["resourceType"] != res_type:
            raise errors.ResourceTypeMismatch(
                f"the body is a {body['resourceType']!r} but the URL says {res_type}", expression="resourceType")

    def create(self, res_type: str, body: Any, *, if_none_exist: str | None = None) -> Stored:
        self._check_create(res_type, body)
        if if_none_exist is not None:
            existing = self.match(res_type, if_none_exist)
            if existing:
                return existing
        pending = self.prepare("POST", res_type, str(uuid.uuid4()), body, create_only=True)
        return self.commit([pending], "create")[0]

    async def create_on_loop(self, res_type: str, body: Any) -> Stored:
        """create() without If-None-Exist on SQLite, run on the event loop: the checks and
        validation are CPU work that a worker thread would do under the same GIL, and the
        transaction is handed straight to the group-commit thread (store.group_commit.run_async)."""
        self._check_create(res_type, body)
        pending = self.prepare("POST", res_type, str(uuid.uuid4()), body, create_only=True)
        return (await self.commit_async([pending], "create"))[0]

    def _check_create(self, res_type: str, body: Any) -> None:
        self._check_type(res_type)
        self._limited("c", res_type, "create")      # before looking at the body: 403 first
        self._body_type(res_type, body)

    def match(self, res_type: str, query: str) -> Stored | None:
        """Conditional create: the one resource matching the query, or None; 412 for several."""
        found = self.find(res_type, query, limit=2)
        if len(found) > 1:
            raise errors.MultipleMatches(f"{res_type}?{query} matches more than one resource")
        if found:
            f = found[0]
            return Stored(res_type, f.res_id, f.version, f.last_updated, body=f.body,
                          extra={"matched": True})
        return None

    def find(self, res_type: str, query: str, limit: int = 2) -> list[VersionBody]:
        """Resources matching a search query string (conditional interactions)."""
        from urllib.parse import parse_qsl
        try:
            items = parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query))
        except ValueError:
            raise errors.InvalidSearchParameter(f"cannot parse the condition {query!r}") from None
        # Only criteria decide a match: result parameters (_count, _offset, _summary, _sort …)
        # could hide a match and so create a duplicate; they are refused here.
        shaping = sorted({k for k, _ in items if k.startswith("_") and k not in fhir_search.CRITERIA_PARAMETERS})
        if shaping:
            raise errors.InvalidSearchParameter(
                f"a condition takes search criteria only, not {', '.join(shaping)}", expression=shaping[0])
        if not items:
            raise errors.InvalidSearchParameter("a conditional interaction needs search criteria")
        req = fhir_search.parse(res_type, items, default_count=limit, max_count=limit)
        req.count = limit
        return self._run_search(req).matches

    def update(self, res_type: str, res_id: str, body: Any, *, if_match: int | None = None) -> Stored:
        self._check_type(res_type)
        check_id(res_id)
        self._limited("u", res_type, "update", res_id=res_id)
        self._body_type(res_type, body)
        if "id" not in body:
            raise errors.MissingId("the resource in an update must carry its id", expression="id")
        if body["id"] != res_id:
            raise errors.IdMismatch(f"the body's id {body['id']!r} is not the URL's {res_id!r}", expression="id")
        pending = self.prepare("PUT", res_type, res_id, body, if_match=if_match)
        return self.commit([pending], "update")[0]

    def conditional_update(self, res_type: str, query: str, body: Any, *, if_match: int | None = None) -> Stored:
        self._check_type(res_type)
        self._limited("u", res_type, "update")
        self._body_type(res_type, body)
        found = self.find(res_type, query)
        if len(found) > 1:
            raise errors.MultipleMatches(f"{res_type}?{query} matches more than one resource")
        if found:
            target = found[0].res_id
            if "id" in body and body["id"] != target:
                raise errors.IdMismatch(f"the body's id {body['id']!r} is not that of the match {target!r}",
                                        expression="id")
            return self.update(res_type, target, {**body, "id": target}, if_match=if_match)
        if "id" in body:
            return self.update(res_type, body["id"], body, if_match=if_match)
        pending = self.prepare("PUT", res_type, str(uuid.uuid4()), body, create_only=True)
        return self.commit([pending], "create")[0]

    def patch(self, res_type: str, res_id: str, operations: Any, *, if_match: int | None = None,
              kind: str = fhir_patch.JSON_PATCH) -> Stored:
        """JSON Patch or (kind MERGE_PATCH) JSON Merge Patch: the patched resource is then an update."""
        self._check_type(res_type)
        self._limited("u", res_type, "patch", res_id=res_id)
        # Loaded without a read event of its own: the patch's event is the one that matters.
        current, _, _ = self._load_visible("patch", res_type, res_id)
        if current is None:
            raise errors.NotFound(f"{res_type}/{res_id} is not known")
        if current.deleted:
            raise errors.Gone(f"{res_type}/{res_id} was deleted (version {current.version})")
        if if_match is not None and current.version != if_match:
            raise errors.VersionConflict(f"{res_type}/{res_id} is at version {current.version}, not {if_match}",
                                         expression="If-Match")
        patched = fhir_patch.apply(current.json(), operations, kind)
        pending = self.prepare("PATCH", res_type, res_id, patched, if_match=current.version)
        return self.commit([pending], "patch")[0]

    def delete(self, res_type: str, res_id: str) -> Stored:
        self._check_type(res_type)
        check_id(res_id)
        pending = PendingWrite("DELETE", res_type, res_id, None, None, None)
        self._check_write_scope(pending)
        return self.commit([pending], "delete")[0]

    def conditional_delete(self, res_type: str, query: str) -> Stored | None:
        self._check_type(res_type)
        self._limited("d", res_type, "delete")
        found = self.find(res_type, query)
        if len(found) > 1:
            raise errors.MultipleMatches(f"{res_type}?{query} matches more than one resource")
        if not found:
            return None
        return self.delete(res_type, found[0].res_id)

    # --- search --------------------------------------------------------------------------------
    def search_type(self, res_type: str, items: list[tuple[str, str]], *, lenient: bool = False) -> SearchResult:
        self._check_type(res_type)
        req = fhir_search.parse(res_type, items, lenient=lenient,
                                default_count=self.store.config.default_page_size,
                                max_count=self.store.config.max_page_size)
        self._limited("s", res_type, "search-type", query="&".join(f"{k}={v}" for k, v in items))
        result = self._run_search(req)
        self._audit_read("search-type", res_type=res_type, patients=result.patients,
                         query="&".join(f"{k}={v}" for k, v in req.applied_query()))
        return result

    def search_pages(self, res_type: str, items: list[tuple[str, str]]) -> Iterator[SearchResult]:
        """The search's pages one after another (the largest page the server allows), for a
        caller that reads until it has what it needs."""
        size = str(self.store.config.max_page_size)
        items = [(k, v) for k, v in items if k not in ("_count", "_cursor")] + [("_count", size)]
        cursor = None
        while True:
            page = self.search_type(res_type, items + ([("_cursor", cursor)] if cursor else []))
            yield page
            if not page.has_next or not page.next_cursor:
                return
            cursor = page.next_cursor

    def search_all(self, res_type: str, items: list[tuple[str, str]], *,
                   included: list[VersionBody] | None = None) -> list[VersionBody]:
        """Every match of the search, page after page: what a workflow needs whole — a stay's
        doses, a bill's charges, the record it exports — where one page with a large _count
        silently stopped at the page-size cap or at its own number. `included`: a list that
        receives each page's _include/_revinclude resources."""
        out: list[VersionBody] = []
        for page in self.search_pages(res_type, items):
            out += page.matches
            if included is not None:
                included += page.included
        return out

    def search_all_among(self, res_type: str, param: str, values: Iterable[str],
                         items: list[tuple[str, str]] | None = None, *,
                         included: list[VersionBody] | None = None) -> list[VersionBody]:
        """Every match whose `param` is one of `values` (and the other `items`), a hundred values
        to a search: one search takes at most fhir.search.MAX_VALUES values, and a hospital's open
        stays or a day's appointments pass that. Values that repeat are asked once."""
        wanted = list(dict.fromkeys(v for v in values if v))
        out: list[VersionBody] = []
        for start in range(0, len(wanted), VALUES_PER_SEARCH):
            out += self.search_all(res_type, [(param, ",".join(wanted[start:start + VALUES_PER_SEARCH])),
                                              *(items or [])], included=included)
        return out

    def search_system(self, items: list[tuple[str, str]], *, lenient: bool = False) -> SearchResult:
        """GET [base]?_type=…: the parameters common to all resources, over the given types."""
        req = fhir_search.parse(SYSTEM, items, lenient=lenient,
                                default_count=self.store.config.default_page_size,
                                max_count=self.store.config.max_page_size)
        if req.resource_type != SYSTEM or req.includes or req.revincludes:
            raise errors.InvalidSearchParameter("a system search takes no _include or _revinclude")
        self._require_some("s", list(req.types or self.store.resource_types), "search-system")
        result = self._run_search(req)
        self._audit_read("search-system", patients=result.patients,
                         query="&".join(f"{k}={v}" for k, v in req.applied_query()))
        return result

    def _run_search(self, req: fhir_search.SearchRequest, extra=None) -> SearchResult:  # noqa: ANN001
        with self.store.db.read() as conn:
            return self.run_search_in(conn, req, extra)

    def run_search_in(self, conn, req: fhir_search.SearchRequest, extra=None, *,  # noqa: ANN001
                      extra_drives: bool = False) -> SearchResult:
        """Run a parsed search on an open connection; `extra` is a further SQL condition on the
        resource table (e.g. membership of a patient's compartment; `extra_drives`: it names few
        rows and starts the search, search.where_clause). The actor's access rules
        filter in SQL, so counts, pages and cursors never reflect what they may not see."""
        types = ([req.resource_type] if req.resource_type != SYSTEM
                 else list(req.types or self.store.resource_types))
        self._check_linked_types(req.criteria, "search-type" if req.resource_type != SYSTEM else "search-system")
        allowed = self._search_filter(types)
        access = self.actor.access
        # What a chain or _has looks at is limited like the rows of the search (search.Visibility).
        visible = (None if access is None
                   else lambda res_type, res: access_sql.type_condition(access, "s", res_type, res))
        if allowed is not None:
            extra = allowed if extra is None else and_(extra, allowed)

        def restricted(q):  # noqa: ANN001, ANN202
            return q if extra is None else q.where(extra)
        total = None
        if req.total == "accurate" or req.summary == "count" or req.count == 0:
            total = conn.execute(restricted(count_query(req, visible, extra_drives))).scalar()
        if req.summary == "count" or req.count == 0:
            # _count=0: the caller wants the total only, so there is no page and no next link.
            return SearchResult(req, [], False, total)
        rows = conn.execute(restricted(page_query(req, visible, extra_drives))).all()
        has_next = req.count is not None and len(rows) > req.count
        rows = rows[: req.count]
        next_cursor = fhir_search.encode_cursor(tuple(rows[-1])) if has_next and rows else None
        # The rows were filtered in SQL; the gate is the check on what actually goes out (the
        # same rule) and collects whose records they are, the included ones too, round by round.
        gate = self.gate(conn)
        bodies = gate.release(self._bodies(conn, [row[-1] for row in rows]), "s", current=True)
        included, cut = (includes.resolve(conn, req, bodies, lambda found: gate.release(found, "r", current=True))
                         if req.includes or req.revincludes else ([], False))
        return SearchResult(req, bodies, has_next, total, next_cursor, included, gate.patients, cut)

    def _bodies(self, conn, pks: list[int]) -> list[VersionBody]:  # noqa: ANN001
        if not pks:
            return []
        r, v = resource, resource_version
        q = (select(r.c.pk, r.c.res_type, r.c.res_id, v.c.version, v.c.last_updated, v.c.encoding, v.c.body)
             .select_from(r.join(v, and_(v.c.resource_pk == r.c.pk, v.c.version == r.c.version)))
             .where(r.c.pk.in_(pks)))
        by_pk = {row.pk: VersionBody(row.res_type, row.res_id, row.version, row.last_updated, False,
                                     decode_body(row.encoding, row.body), pk=row.pk) for row in conn.execute(q)}
        return [by_pk[pk] for pk in pks if pk in by_pk]

    # --- history -------------------------------------------------------------------------------
    def history(self, res_type: str | None = None, res_id: str | None = None, *, since: int | None = None,
                count: int | None = None, cursor: int | None = None, total: bool = False) -> HistoryResult:
        if res_type is not None:
            self._check_type(res_type)
        if res_id is not None:
            check_id(res_id)
        count = min(count if count is not None else self.store.config.default_page_size,
                    self.store.config.max_page_size)
        cl, v = change_log, resource_version
        cond = []
        if res_type:
            cond.append(cl.c.res_type == res_type)
        if res_id:
            cond.append(cl.c.res_id == res_id)
        if since is not None:
            cond.append(cl.c.committed_at >= since)
        kind = "history-instance" if res_id else "history-type" if res_type else "history-system"
        if res_id:
            # The instance's history: readable when its current version is (checked below).
            self._limited("r", res_type, kind, res_id=res_id)
        else:
            if res_type:
                self._limited("s", res_type, kind)
            else:
                self._require_some("s", list(self.store.resource_types), kind)
            allowed = self._search_filter([res_type] if res_type else list(self.store.resource_types))
            if allowed is not None:
                cond.append(cl.c.resource_pk.in_(select(resource.c.pk).where(allowed)))
        base = and_(*cond) if cond else None
        q = (select(cl.c.seq, cl.c.resource_pk, cl.c.res_type, cl.c.res_id, cl.c.version, v.c.last_updated,
                    v.c.deleted, v.c.encoding, v.c.body, v.c.method)
             .select_from(cl.join(v, and_(v.c.resource_pk == cl.c.resource_pk, v.c.version == cl.c.version))))
        if base is not None:
            q = q.where(base)
        if cursor is not None:
            q = q.where(cl.c.seq < cursor)
        q = q.order_by(cl.c.seq.desc()).limit(count + 1)
        with self.store.db.read() as conn:
            if res_type and res_id:
                exists_q = select(resource.c.pk).where(and_(resource.c.res_type == res_type, resource.c.res_id == res_id))
                found_pk = conn.execute(exists_q).scalar()
                if found_pk is None:
                    raise errors.NotFound(f"{res_type}/{res_id} is not known")
                if (self.actor.access is not None
                        and not access_sql.is_visible(conn, self.actor.access, "r", res_type, found_pk)):
                    self._refuse_outside_scope(kind, res_type, res_id, conn=conn, pk=found_pk)
            rows = conn.execute(q).all()
            n_total = None
            if total:
                tq = select(func.count()).select_from(cl)
                n_total = conn.execute(tq.where(base) if base is not None else tq).scalar()
            found = [VersionBody(r.res_type, r.res_id, r.version, r.last_updated, r.deleted,
                                 decode_body(r.encoding, r.body) if not r.deleted else None, r.method, r.resource_pk)
                     for r in rows[:count]]
            # Each version goes out on its own merits: an earlier one about another patient stays.
            gate = self.gate(conn)
            entries = gate.release(found, "r" if res_id else "s")
            if res_type and res_id:
                # The instance's patients even when the page holds only deletions.
                gate.patients |= access_sql.patients_of(conn, [found_pk])[found_pk]
        next_cursor = rows[count - 1].seq if len(rows) > count and count > 0 else None
        self._audit_read(kind, res_type=res_type, res_id=res_id, patients=gate.patients)
        return HistoryResult(entries, next_cursor, n_total)


def validation_details(issues: list) -> list[Detail]:  # noqa: ANN001
    return [Detail(i.message, i.expression, i.severity, i.code) for i in issues]


def _write_patients(p: PendingWrite) -> set[str]:
    if p.res_type == access_sql.PATIENT:
        return {p.res_id}
    return access_sql.referenced_patients(p.res_type, p.index.reference) if p.index else set()


def _deleted_patients(conn, deletes: list[PendingWrite]) -> dict[str, set[str]]:  # noqa: ANN001
    if not deletes:
        return {}
    out = {}
    for p in deletes:
        pk = conn.execute(select(resource.c.pk).where(and_(resource.c.res_type == p.res_type,
                                                           resource.c.res_id == p.res_id))).scalar()
        if pk is not None:
            out[p.res_id] = ({p.res_id} if p.res_type == access_sql.PATIENT
                             else access_sql.patients_of(conn, [pk])[pk])
    return out
