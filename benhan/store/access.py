"""Access rules as SQL: which resources an actor may see.

auth/ decides *what* an actor may do — for each resource type and SMART interaction letter (c r u d
s), nothing, everything at the facility, or only the records of the patients in their scope — and
hands the repository an Access. This module turns "the patients in their scope" into SQL, so that a
search filters in the database (paging, counts and _include never see a resource the actor may not)
and a read checks one row.

A patient is in an actor's scope when
- an Encounter of theirs has a serviceProvider (Organization) or a location (Location) that is one
  of the actor's departments (a ward's or clinic's patients), or lists the actor's Practitioner as a
  participant (those they care for);
- a CareTeam of theirs has the actor's Practitioner as a participant;
- the actor has an active break-the-glass grant for them (auth.break_glass);
- or, for a SMART patient-context token, it is the token's patient (and no other).
Resources outside the Patient compartment (Practitioner, Organization, Medication …) have no patient
and are limited by the role's permissions only.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, Select, and_, false, literal, or_, select, union

from benhan.fhir.searchparams import compartment_params, compartment_types
from benhan.store.schema import idx_reference, resource

PATIENT = "Patient"
LETTERS = frozenset("cruds")
ALL = "all"          # every patient of the facility
SCOPED = "scoped"    # only the patients of the actor's scope


@dataclass(frozen=True)
class PatientScope:
    departments: frozenset[str] = frozenset()      # Organization ids
    practitioner_id: str | None = None
    break_glass: frozenset[str] = frozenset()      # patient ids with an active grant
    patient_id: str | None = None                  # SMART patient context: this patient only


@dataclass(frozen=True)
class Access:
    """What an actor may do. `modes` maps (resource type or "*", letter) → ALL or SCOPED; an absent
    pair is not permitted. Built by auth.policy from roles and token scopes."""
    modes: dict[tuple[str, str], str] = field(default_factory=dict)
    scope: PatientScope = PatientScope()
    # The clinical acts (auth.roles.ACTS) a user holds, checked by store.act_rules on every write;
    # None for backend clients and the server's own work, governed by their scopes alone.
    acts: frozenset[str] | None = None

    def mode(self, letter: str, res_type: str) -> str | None:
        return self.modes.get((res_type, letter)) or self.modes.get(("*", letter))

    def patient_limited(self, letter: str, res_type: str) -> bool | None:
        """None: not permitted; True: only patients in scope; False: every patient."""
        mode = self.mode(letter, res_type)
        if mode is None:
            return None
        return mode == SCOPED and in_patient_compartment(res_type)


_MEMBER_PARAMS: dict[str, tuple[str, ...]] = {}


def member_params(res_type: str) -> tuple[str, ...]:
    """The parameters that put a resource of this type in a Patient's compartment."""
    if not _MEMBER_PARAMS:
        _MEMBER_PARAMS.update({t: compartment_params(PATIENT, t) for t in compartment_types(PATIENT)})
    return _MEMBER_PARAMS.get(res_type, ())


def in_patient_compartment(res_type: str) -> bool:
    return res_type == PATIENT or bool(member_params(res_type))


def _ref(alias: str):  # noqa: ANN202
    return idx_reference.alias(alias)


def patients_in_scope(scope: PatientScope) -> Select:
    """SELECT of the ids of the patients in the scope (a subquery for IN)."""
    if scope.patient_id is not None:
        return select(literal(scope.patient_id).label("patient_id"))
    parts: list[Select] = []
    subj, link = _ref("scope_subject"), _ref("scope_link")

    def patients_of(res_type: str, link_cond: ColumnElement, patient_param: str) -> Select:
        return (select(subj.c.target_id.label("patient_id"))
                .where(and_(subj.c.res_type == res_type, subj.c.param == patient_param,
                            subj.c.target_type == PATIENT,
                            subj.c.resource_pk.in_(select(link.c.resource_pk).where(link_cond)))))

    by_encounter = []
    if scope.departments:
        # A department is an Organization (the encounter's serviceProvider) or a Location (a ward,
        # a clinic room: the encounter's location) — facilities model it either way.
        depts = sorted(scope.departments)
        by_encounter.append(or_(
            and_(link.c.param == "service-provider", link.c.target_type == "Organization",
                 link.c.target_id.in_(depts)),
            and_(link.c.param == "location", link.c.target_type == "Location", link.c.target_id.in_(depts))))
    if scope.practitioner_id:
        by_encounter.append(and_(link.c.param == "participant", link.c.target_type == "Practitioner",
                                 link.c.target_id == scope.practitioner_id))
    if by_encounter:
        parts.append(patients_of("Encounter", and_(link.c.res_type == "Encounter", or_(*by_encounter)), "subject"))
    if scope.practitioner_id:
        parts.append(patients_of("CareTeam", and_(link.c.res_type == "CareTeam", link.c.param == "participant",
                                                  link.c.target_type == "Practitioner",
                                                  link.c.target_id == scope.practitioner_id), "subject"))
    for patient_id in sorted(scope.break_glass):
        parts.append(select(literal(patient_id).label("patient_id")))
    if not parts:
        return select(literal("").label("patient_id")).where(false())
    return parts[0] if len(parts) == 1 else union(*parts)


def visible(res_type: str, scope: PatientScope, res=resource) -> ColumnElement:  # noqa: ANN001
    """The condition on `res` (a resource row of res_type) that it belongs to a patient in scope."""
    allowed = patients_in_scope(scope)
    if res_type == PATIENT:
        return res.c.res_id.in_(allowed)
    params = member_params(res_type)
    if not params:
        return literal(True)
    ref = _ref("scope_member")
    return res.c.pk.in_(select(ref.c.resource_pk).where(and_(
        ref.c.res_type == res_type, ref.c.param.in_(params), ref.c.target_type == PATIENT,
        ref.c.target_id.in_(allowed))))


def type_condition(access: Access, letter: str, res_type: str, res=resource) -> ColumnElement | None:  # noqa: ANN001
    """The condition on `res`, a row known to be of res_type, that this actor may see it; None:
    every row of the type. Not permitted at all: false. (Without a res_type term of its own, so a
    chain's step that starts from an index keeps the plan it had.)"""
    limited = access.patient_limited(letter, res_type)
    if limited is None:
        return false()
    return visible(res_type, access.scope, res) if limited else None


def search_condition(access: Access, letter: str, res_types: Iterable[str], res=resource) -> ColumnElement | None:  # noqa: ANN001
    """The SQL filter a search (or history) of these types needs for this actor; None: no filter.
    Types the actor may not search at all are excluded (a system search over several types)."""
    terms, unrestricted = [], []
    for t in res_types:
        cond = type_condition(access, letter, t, res)
        if cond is None:
            unrestricted.append(t)
        else:
            terms.append(and_(res.c.res_type == t, cond))
    if not terms:
        return None
    if unrestricted:
        terms.append(res.c.res_type.in_(unrestricted))
    return or_(*terms)


def is_visible(conn, access: Access, letter: str, res_type: str, pk: int) -> bool:  # noqa: ANN001
    limited = access.patient_limited(letter, res_type)
    if limited is None:
        return False
    if not limited:
        return True
    q = select(resource.c.pk).where(and_(resource.c.pk == pk, visible(res_type, access.scope)))
    return conn.execute(q).first() is not None


def patient_in_scope(conn, scope: PatientScope, patient_id: str) -> bool:  # noqa: ANN001
    allowed = patients_in_scope(scope).subquery()
    return conn.execute(select(allowed.c.patient_id).where(allowed.c.patient_id == patient_id).limit(1)).first() is not None


def patient_on_record(conn, patient_id: str) -> bool:  # noqa: ANN001
    """Whether a live (not deleted) Patient with this id is stored here."""
    return conn.execute(select(resource.c.pk).where(and_(
        resource.c.res_type == PATIENT, resource.c.res_id == patient_id, resource.c.deleted == false()))
    ).first() is not None


def patients_of(conn, pks: list[int]) -> dict[int, set[str]]:  # noqa: ANN001
    """resource pk → ids of the patients whose compartment it is in (Patients: themselves)."""
    if not pks:
        return {}
    out: dict[int, set[str]] = {pk: set() for pk in pks}
    rows = conn.execute(select(resource.c.pk, resource.c.res_type, resource.c.res_id)
                        .where(resource.c.pk.in_(pks))).all()
    types = {r.res_type for r in rows}
    for r in rows:
        if r.res_type == PATIENT:
            out[r.pk].add(r.res_id)
    ref = idx_reference
    # `res_type || ''` keeps the given pks driving (ix_idx_reference_resource): with two or more,
    # SQLite otherwise takes the (res_type, param) index and walks every row of the type (as in
    # store/release.py's statement).
    pairs = [and_((ref.c.res_type + "") == t, ref.c.param.in_(member_params(t))) for t in types if member_params(t)]
    if pairs:
        q = select(ref.c.resource_pk, ref.c.target_id).where(and_(
            ref.c.resource_pk.in_(pks), ref.c.target_type == PATIENT, or_(*pairs)))
        for pk, target in conn.execute(q):
            out[pk].add(target)
    return out


def referenced_patients(res_type: str, reference_rows: Iterable[tuple]) -> set[str]:
    """Patient ids a resource about to be written is about, from its extracted reference index rows
    (param, target_type, target_id, …): the patients whose scope the writer must be in."""
    params = set(member_params(res_type))
    return {row[2] for row in reference_rows if row[0] in params and row[1] == PATIENT and row[2]}
