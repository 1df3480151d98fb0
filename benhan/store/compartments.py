"""The Patient compartment (http://hl7.org/fhir/R4/compartmentdefinition.html): compartment search
(GET Patient/{id}/Observation?…, http://hl7.org/fhir/R4/search.html#compartments) and
Patient/$everything (http://hl7.org/fhir/R4/patient-operation-everything.html).

A resource is in Patient/{id}'s compartment when one of its compartment parameters (the spec's
CompartmentDefinition, via fhir.searchparams) references Patient/{id}. Those references are
idx_reference rows, so membership is one EXISTS added to a type search, and $everything is one
statement per page whatever the number of types: the members (one scan of idx_reference for all
(type, parameter) pairs), the patient, and what they reference, paged by pk.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from sqlalchemy import (BigInteger, ColumnElement, Integer, Select, and_, bindparam, case, false, func,
                        literal, or_, select, union_all)

from benhan import errors
from benhan.fhir import search as fhir_search
from benhan.fhir.searchparams import compartment_params, compartment_types
from benhan.store.repository import Repository, SearchResult, VersionBody, check_id
from benhan.store.schema import idx_reference, resource, resource_version
from benhan.store.writer import decode_body

COMPARTMENT = "Patient"


@cache
def member_params() -> dict[str, tuple[str, ...]]:
    """Resource type → the parameters that put it in a Patient's compartment."""
    return {t: compartment_params(COMPARTMENT, t) for t in compartment_types(COMPARTMENT)}


def _references_patient(ref, patient_id: str) -> ColumnElement:  # noqa: ANN001
    return and_(ref.c.target_type == COMPARTMENT, ref.c.target_id == patient_id)


def _member_pairs(ref) -> ColumnElement:  # noqa: ANN001
    """ref's row is one of a compartment parameter: (Observation, subject|performer) or …"""
    # One equality pair per term (not IN lists, which are re-expanded at every execution).
    return or_(*(and_(ref.c.res_type == t, ref.c.param == p) for t, params in member_params().items()
                 for p in params))


# Made once: building an alias costs more than the database's work for a patient's compartment.
_COMPARTMENT_REF = idx_reference.alias("compartment_ref")


def in_compartment(res_type: str, patient_id: str, res=resource) -> ColumnElement:  # noqa: ANN001
    """The condition that puts `res` (a resource of res_type) in Patient/{patient_id}'s compartment."""
    ref = _COMPARTMENT_REF
    # Uncorrelated: the patient's few references, then their resources (correlated, it was a
    # probe per resource of the type — 400 ms for Observations on a million resources).
    cond = res.c.pk.in_(select(ref.c.resource_pk).where(and_(
        ref.c.res_type == res_type, ref.c.param.in_(member_params()[res_type]), _references_patient(ref, patient_id))))
    if res_type == COMPARTMENT:
        # The patient is in its own compartment (and so are the Patients whose link points at it).
        cond = or_(res.c.res_id == patient_id, cond)
    return cond


def _patient_pk(conn, patient_id: str) -> int:  # noqa: ANN001
    row = conn.execute(select(resource.c.pk, resource.c.deleted).where(
        and_(resource.c.res_type == COMPARTMENT, resource.c.res_id == patient_id))).first()
    if row is None:
        raise errors.NotFound(f"Patient/{patient_id} is not known")
    if row.deleted:
        raise errors.Gone(f"Patient/{patient_id} was deleted")
    return row.pk


# --- compartment search --------------------------------------------------------------------------

def search(repo: Repository, patient_id: str, res_type: str, items: list[tuple[str, str]], *,
           lenient: bool = False) -> SearchResult:
    """GET Patient/{id}/{type}?…: the type search, restricted to the patient's compartment."""
    check_id(patient_id)
    repo._check_type(res_type)
    if res_type not in member_params():
        raise errors.InvalidSearchParameter(
            f"{res_type} is not in the Patient compartment "
            "(http://hl7.org/fhir/R4/compartmentdefinition-patient.html)")
    config = repo.store.config
    req = fhir_search.parse(res_type, items, lenient=lenient, default_count=config.default_page_size,
                            max_count=config.max_page_size)
    member = in_compartment(res_type, patient_id)
    repo.permit("s", res_type, "search-type")
    with repo.store.db.read() as conn:
        _patient_pk(conn, patient_id)
        repo.check_patient_visible(conn, patient_id, "search-type")
        # The patient's references start the search (a patient has tens of Observations; one LOINC
        # code has a hundred thousand); the Patient type's own test is an OR with its id, kept as is.
        result = repo.run_search_in(conn, req, member, extra_drives=res_type != COMPARTMENT)
    # The audit entity is the patient: "who looked at this patient's record" finds it by res_type/res_id.
    query = "&".join(f"{k}={v}" for k, v in req.applied_query())
    # Every patient whose record went: a member of this compartment may be another's too
    # (an Observation whose performer is this patient), and so may what _include brought in.
    repo._audit_read("search-type", res_type=COMPARTMENT, res_id=patient_id, patients={patient_id} | result.patients,
                     query=f"{res_type}?{query}" if query else res_type)
    return result


# --- $everything -----------------------------------------------------------------------------------

@dataclass
class EverythingEntry:
    resource: VersionBody
    mode: str                   # "match" (the patient and its compartment) or "include"


@dataclass
class EverythingPage:
    entries: list[EverythingEntry]
    next_cursor: int | None     # the pk to continue after; None on the last page


@cache
def _everything_query(*, types: bool, since: bool, cursor: bool) -> Select:
    """One page of $everything, in one statement; built once per shape (building it cost more CPU
    than running it), with the patient, limit, and any _type/_since/_cursor as bound parameters.

    The set is: the patient, every resource with a compartment reference to it (one pass over
    idx_reference for all types), and every live resource those reference (their idx_reference
    rows joined to resource). Each appears once, marked 1 when it is in the compartment. Order:
    the patient first, then pk ascending — a keyset (pk > cursor) that writes between pages cannot
    shift: existing resources keep their pk, new ones get larger ones.
    """
    patient_id, patient_pk = bindparam("patient_id"), bindparam("patient_pk", type_=BigInteger)
    ref = idx_reference.alias("member_ref")
    members = (select(ref.c.resource_pk.label("pk"), literal(1).label("m"))
               .where(and_(_references_patient(ref, patient_id), _member_pairs(ref))))
    itself = select(patient_pk.label("pk"), literal(1).label("m"))
    core = union_all(members, itself).cte("core")
    out, target = idx_reference.alias("include_ref"), resource.alias("target")
    # Other patients are never brought in by reference (a Group or a Coverage can name several):
    # a patient's $everything must not hand out somebody else's demographics.
    included = (select(target.c.pk, literal(0).label("m"))
                .select_from(out.join(target, and_(target.c.res_type == out.c.target_type,
                                                   target.c.res_id == out.c.target_id)))
                .where(and_(out.c.resource_pk.in_(select(core.c.pk)), out.c.target_type != COMPARTMENT)))
    every = union_all(select(core.c.pk, core.c.m), included).subquery("every")
    marked = select(every.c.pk, func.max(every.c.m).label("m")).group_by(every.c.pk).subquery("marked")

    r = resource
    first = case((r.c.pk == patient_pk, 0), else_=1)
    conds = [r.c.deleted == false()]
    if types:
        conds.append(r.c.res_type.in_(bindparam("types", expanding=True)))
    if since:
        conds.append(r.c.last_updated >= bindparam("since", type_=BigInteger))
    if cursor:
        # The patient came first, on page one.
        conds += [r.c.pk > bindparam("cursor", type_=BigInteger), r.c.pk != patient_pk]
    page = (select(r.c.pk, r.c.version, marked.c.m, first.label("first"))
            .select_from(marked.join(r, r.c.pk == marked.c.pk))
            .where(and_(*conds))
            .order_by(first, r.c.pk)
            .limit(bindparam("limit", type_=Integer))
            .subquery("page"))
    # Bodies only for the page's rows, so the sort above never carries them.
    r, v = resource, resource_version
    return (select(page.c.pk, page.c.m, r.c.res_type, r.c.res_id, v.c.version, v.c.last_updated, v.c.encoding,
                   v.c.body)
            .select_from(page.join(r, r.c.pk == page.c.pk)
                         .join(v, and_(v.c.resource_pk == page.c.pk, v.c.version == page.c.version)))
            .order_by(page.c.first, page.c.pk))


def everything(repo: Repository, patient_id: str, *, types: tuple[str, ...] | None = None,
               since: int | None = None, count: int | None = None, cursor: int | None = None) -> EverythingPage:
    """Patient/{id}/$everything: one page. `since` in µs (resources updated at or after it),
    `types` limits what is returned (of all kinds), `cursor` is a previous page's next_cursor."""
    check_id(patient_id)
    unknown = [t for t in types or () if t not in repo.store.resource_types]
    if unknown:
        raise errors.InvalidSearchParameter(f"_type: {', '.join(unknown)} is not a FHIR R4 resource type",
                                            expression="_type")
    config = repo.store.config
    count = min(config.default_page_size if count is None else count, config.max_page_size)
    repo.permit("r", COMPARTMENT, "operation")
    # Only the types the actor may read (in SQL, so pages stay full); the patient is checked to be
    # in their scope below. What the page brings in by reference (Observation.hasMember,
    # Encounter.partOf …) may be another patient's: every row goes out through the gate
    # (store.release), which keeps what a direct read would and names every patient for the audit.
    readable = repo.readable_types(types)
    with repo.store.db.read() as conn:
        patient_pk = _patient_pk(conn, patient_id)
        repo.check_patient_visible(conn, patient_id, "operation")
        statement = _everything_query(types=readable is not None, since=since is not None, cursor=cursor is not None)
        params = {"patient_id": patient_id, "patient_pk": patient_pk, "types": list(readable or ()), "since": since,
                  "cursor": cursor, "limit": count + 1}     # one more tells whether there is a next page
        rows = [] if count == 0 else conn.execute(statement, params).all()
        has_next = len(rows) > count
        rows = rows[:count]
        found = [VersionBody(row.res_type, row.res_id, row.version, row.last_updated, False,
                             decode_body(row.encoding, row.body), pk=row.pk) for row in rows]
        gate = repo.gate(conn)
        released = {id(b) for b in gate.release(found, "r", current=True)}
    entries = [EverythingEntry(b, "match" if row.m else "include")
               for b, row in zip(found, rows) if id(b) in released]
    next_cursor = None
    if has_next:
        # After the patient alone (page one of _count=1) every other pk is still to come.
        others = [row.pk for row in rows if row.pk != patient_pk]
        next_cursor = others[-1] if others else 0
    query = "&".join(part for part in (
        f"_type={','.join(types)}" if types is not None else "", f"_since={since}" if since is not None else "",
        f"_count={count}", f"_cursor={cursor}" if cursor is not None else "") if part)
    repo._audit_read("operation", res_type=COMPARTMENT, res_id=patient_id, patients={patient_id} | gate.patients,
                     query=f"$everything?{query}")
    return EverythingPage(entries, next_cursor)
