"""SMART on FHIR scopes: parsing (v2 and v1), the permissions they grant, and narrowing a request
to what a client is registered for.

v2 (http://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html):
    patient/Observation.rs   user/*.cruds   system/*.rs
v1 (still sent by many apps and listed as permission-v1):
    patient/Observation.read (= rs)   user/*.write (= cud)   system/*.* (= cruds)
v2 scopes with `?param=value` constraints are recognised but not supported: they grant nothing and
are dropped from a granted scope (the spec lets a server grant less than was asked).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from benhan.fhir.definitions import load_structure

LETTERS = "cruds"
CONTEXTS = ("patient", "user", "system")
# Broadest first: when several scopes grant the same (type, letter), the broadest context wins.
_BREADTH = {"system": 3, "user": 2, "patient": 1}
V1_ACTIONS = {"read": "rs", "write": "cud", "*": "cruds"}
# The scopes that are not about resources (launch context, identity, refresh tokens).
OTHER_SCOPES = frozenset({"launch", "launch/patient", "openid", "fhirUser", "offline_access",
                          "online_access"})
# Of those, the ones this server grants: standalone launch with a patient picked on the consent page,
# and refresh tokens. EHR launch (launch), openid and fhirUser (an id_token) are understood but not
# granted — a server may grant less than asked.
GRANTED_OTHER = frozenset({"launch/patient", "offline_access", "online_access"})

_RESOURCE_SCOPE = re.compile(r"^(patient|user|system)/([A-Za-z]+|\*)\.([a-z]+|\*)(\?.*)?$")


class InvalidScope(ValueError):
    """A scope that looks like a SMART resource scope but is not a valid one."""


@dataclass(frozen=True)
class ResourceScope:
    text: str             # as written by the client
    context: str          # patient, user, system
    res_type: str         # a resource type or "*"
    letters: str          # a subsequence of "cruds"
    constrained: bool     # v2 `?param=value`: not supported, grants nothing
    v1: bool


def _letters(action: str) -> tuple[str, bool] | None:
    if action in V1_ACTIONS:
        return V1_ACTIONS[action], True
    # v2: each of c r u d s at most once, in that order ("rs", "cruds", "cu"…).
    pos = -1
    for ch in action:
        i = LETTERS.find(ch)
        if i <= pos:
            return None
        pos = i
    return action, False


def parse_resource_scope(text: str) -> ResourceScope | None:
    """The resource scope in `text`; None when `text` is not a resource scope at all (launch,
    openid, …); InvalidScope when it has the shape of one but is wrong."""
    if not text.startswith(CONTEXTS):
        return None
    m = _RESOURCE_SCOPE.match(text)
    if not m:
        raise InvalidScope(f"malformed SMART scope {text!r}")
    context, res_type, action, constraint = m.groups()
    if res_type != "*" and res_type not in load_structure().resource_types:
        raise InvalidScope(f"scope {text!r}: {res_type} is not an R4 resource type")
    parsed = _letters(action)
    if parsed is None:
        raise InvalidScope(f"scope {text!r}: the permissions must be some of c, r, u, d, s in that order "
                           "(or read, write, *)")
    letters, v1 = parsed
    if v1 and constraint:
        raise InvalidScope(f"scope {text!r}: only v2 scopes take ?param=value constraints")
    return ResourceScope(text, context, res_type, letters, bool(constraint), v1)


def check(scope: str, *, strict: bool = True) -> list[str]:
    """The scope's words, each checked. strict (registration): an unknown word is an error.
    Not strict (a client's request): unknown non-resource words are dropped; malformed resource
    scopes are still errors."""
    out = []
    for word in scope.split():
        if parse_resource_scope(word) is not None or word in OTHER_SCOPES:
            out.append(word)
        elif strict:
            raise InvalidScope(f"unknown scope {word!r}")
    return out


@lru_cache(maxsize=1024)
def _permissions(scope: str) -> tuple[tuple[tuple[str, str], str], ...]:
    granted: dict[tuple[str, str], str] = {}
    for word in scope.split():
        rs = parse_resource_scope(word)
        if rs is None or rs.constrained:
            continue
        for letter in rs.letters:
            key = (rs.res_type, letter)
            if key not in granted or _BREADTH[rs.context] > _BREADTH[granted[key]]:
                granted[key] = rs.context
    return tuple(granted.items())


def smart_permissions(scope: str) -> dict[tuple[str, str], str]:
    """(resource type or "*", letter of "cruds") → the broadest context granting it ("system" >
    "user" > "patient"). Non-resource scopes and constrained v2 scopes grant nothing here.
    Cached: the web layer calls it for every bearer request."""
    return dict(_permissions(scope))


def _by_context(scope: str) -> dict[str, set[tuple[str, str]]]:
    out: dict[str, set[tuple[str, str]]] = {c: set() for c in CONTEXTS}
    for word in scope.split():
        rs = parse_resource_scope(word)
        if rs is not None and not rs.constrained:
            out[rs.context].update((rs.res_type, ch) for ch in rs.letters)
    return out


def narrow(requested: str, registered: str, *, contexts: tuple[str, ...] = CONTEXTS) -> str:
    """The part of `requested` that a client registered for `registered` may be granted, as a scope
    string. A requested scope that is wholly allowed is kept as written (v1 stays v1); one that is
    partly allowed becomes the v2 scopes of the allowed part. Constrained, unknown and
    other-context scopes are dropped. Malformed resource scopes raise InvalidScope.

    A context is granted only as itself: a client registered for user/ scopes does not get
    patient/ or system/ ones (each means a different kind of token), nor the reverse."""
    allowed = _by_context(registered)
    registered_words = set(registered.split())
    out: list[str] = []
    for word in check(requested, strict=False):
        rs = parse_resource_scope(word)
        if rs is None:
            if word in registered_words:
                out.append(word)
            continue
        if rs.constrained or rs.context not in contexts:
            continue
        pairs = allowed[rs.context]

        def letters_for(res_type: str, wanted: str = rs.letters, pairs: set = pairs) -> str:
            return "".join(ch for ch in wanted if (res_type, ch) in pairs or ("*", ch) in pairs)

        if rs.res_type != "*" or letters_for("*") == rs.letters:
            letters = letters_for(rs.res_type)
            if letters == rs.letters:
                out.append(word)
            elif letters:
                out.append(f"{rs.context}/{rs.res_type}.{letters}")
            continue
        # A wildcard asked for, specific types registered: grant each registered type its share.
        share = [f"{rs.context}/{t}.{letters_for(t)}" for t in sorted({t for t, _ in pairs if t != "*"})]
        if "*" in {t for t, _ in pairs} and letters_for("*"):
            share.insert(0, f"{rs.context}/*.{letters_for('*')}")
        out += [s for s in share if not s.endswith(".")]
    return " ".join(dict.fromkeys(out))


def resource_contexts(scope: str) -> set[str]:
    """The contexts (patient, user, system) the scope's resource scopes use."""
    out = set()
    for word in scope.split():
        rs = parse_resource_scope(word)
        if rs is not None and not rs.constrained:
            out.add(rs.context)
    return out
