"""A Starlette Router that only tries the routes that can match a request's first path segment.

Starlette's Router tries its routes one by one, in order, until one matches. The application has
~150 routes (the clinician pages first) and /fhir is mounted near the end, so every FHIR request
ran ~130 regular expressions before reaching its own routes, and ~25 more inside the mount: a
read by id spent more CPU finding its endpoint than SQLite spent finding the resource.

IndexedRouter groups the routes by the literal first segment of their path ("/fhir/…" → "fhir",
"/ui/…" → "ui"); a route whose path starts with a parameter ("/{type}/…"), a Mount at "" or a
Host goes into every group. A request tries only its segment's group, in the routes' original
order, so the first route that matches is the one Starlette's own loop would have found: a route
of another literal first segment cannot match the request's path at all, not even partially.
Everything else (partial matches for 405, the slash redirect, the 404) is Starlette's.

Within a group, a Route whose parameters each match one segment (str, int, float, uuid: none
matches "/") matches only paths with as many "/" as its own path; so the candidates are narrowed by
that count too. Inside /fhir, "/Patient/p1" tried the thirteen routes before "/{type}/{id}" that may
start with any segment; those of another length are now skipped without running their expressions.
And by their literal segments: "/{type}/_history" cannot match "/Patient/p1", whose second segment
is not "_history", so a read by id tries one route inside /fhir, not three (and one outside, not four).
"""
from __future__ import annotations

from typing import Any

from starlette._utils import get_route_path
from starlette.convertors import FloatConvertor, IntegerConvertor, StringConvertor, UUIDConvertor
from starlette.routing import BaseRoute, Host, Match, Mount, Route, Router
from starlette.types import Receive, Scope, Send

_ANY = object()     # the group of routes that any first segment may match


def _first_segment(route: BaseRoute) -> Any:
    """The literal first path segment every path the route matches starts with, or _ANY."""
    if isinstance(route, (Route, Mount)) and not isinstance(route, Host):
        path = route.path
        if path.startswith("/"):
            first = path[1:].split("/", 1)[0]
            # A Mount at "/x" matches "/x/…" only; a Route at "/x" exactly "/x"; both start with "x".
            # A parameter ("{type}", "x{y}") may match anything: such a route is in every group.
            if "{" not in first and (first or isinstance(route, Route)):
                return first
    return _ANY


_ONE_SEGMENT = (StringConvertor, IntegerConvertor, FloatConvertor, UUIDConvertor)
_MAX_SLASHES = 16       # longer paths are not cached by length (a client chooses the path)


def _literals(route: BaseRoute) -> tuple[tuple[int, str], ...] | None:
    """(position, text) of each segment of a route's path that is plain text, for a route that
    _slashes counts (None otherwise): a path matches the route only if it has that text there."""
    if _slashes(route) is _ANY:
        return None
    return tuple((i, seg) for i, seg in enumerate(route.path[1:].split("/")) if "{" not in seg)


def _slashes(route: BaseRoute) -> Any:
    """How many "/" every path the route matches has, or _ANY (a Mount, a path parameter, a Host)."""
    if type(route) is Route and route.path.startswith("/") and all(
            type(c) in _ONE_SEGMENT for c in route.param_convertors.values()):
        return route.path.count("/")
    return _ANY


class IndexedRouter(Router):
    _index_key: tuple[int, int] | None = None
    _groups: dict[str, list[BaseRoute]]
    _any: list[BaseRoute]

    def _index(self) -> None:
        groups: dict[str, list[BaseRoute]] = {}
        segments = [_first_segment(r) for r in self.routes]
        for seg in segments:
            if seg is not _ANY:
                groups.setdefault(seg, [])
        for route, seg in zip(self.routes, segments):
            for name, group in groups.items():
                if seg is _ANY or seg == name:
                    group.append(route)
        self._groups = groups
        self._any = [r for r, s in zip(self.routes, segments) if s is _ANY]
        self._sized: dict[tuple[Any, int], tuple[list[BaseRoute], tuple[int, ...], list]] = {}
        self._narrowed: dict[tuple, list[BaseRoute]] = {}
        # Routes appended later (app.add_route, an install() after start-up) rebuild the index.
        self._index_key = (id(self.routes), len(self.routes))

    def candidates(self, scope: Scope) -> list[BaseRoute]:
        if self._index_key != (id(self.routes), len(self.routes)):
            self._index()
        path = get_route_path(scope)
        first = path[1:].split("/", 1)[0] if path.startswith("/") else None
        if first is None:
            return self.routes
        group = self._groups.get(first, self._any)
        n = path.count("/")
        if n > _MAX_SLASHES:
            return group
        key = (first if group is not self._any else _ANY, n)
        sized = self._sized.get(key)
        if sized is None:
            sized = self._sized[key] = self._size(group, n)
        found, positions, texts = sized
        if not positions:
            return found
        # Each position where some route has plain text: the path's segment there if some route
        # has it, else None (no route with text there can match). Few keys: only routes' texts.
        segments = path[1:].split("/")
        shape = (key, *(seg if seg in known else None for seg, known in zip(
            (segments[i] for i in positions), texts)))
        narrowed = self._narrowed.get(shape)
        if narrowed is None:
            narrowed = self._narrowed[shape] = [
                r for r in found if (lits := _literals(r)) is None
                or all(shape[1 + positions.index(i)] == text for i, text in lits)]
        return narrowed

    @staticmethod
    def _size(group: list[BaseRoute], n: int) -> tuple[list[BaseRoute], tuple[int, ...], list]:
        """The routes of `group` that may match a path with n "/", the positions where one of them
        has a plain-text segment, and the texts found at each of those positions."""
        found = [r for r in group if (k := _slashes(r)) is _ANY or k == n]
        texts: dict[int, set[str]] = {}
        for r in found:
            for i, text in _literals(r) or ():
                texts.setdefault(i, set()).add(text)
        positions = tuple(sorted(texts))
        return found, positions, [frozenset(texts[i]) for i in positions]

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().app(scope, receive, send)
            return
        if "router" not in scope:
            scope["router"] = self
        partial = partial_scope = None
        for route in self.candidates(scope):
            match, child_scope = route.matches(scope)
            if match is Match.FULL:
                scope["route"] = route
                scope.update(child_scope)
                await route.handle(scope, receive, send)
                return
            if match is Match.PARTIAL and partial is None:
                partial, partial_scope = route, child_scope
        if partial is not None:
            scope["route"] = partial
            scope.update(partial_scope)
            await partial.handle(scope, receive, send)
            return
        # No route: Starlette's own loop over every route gives the slash redirect or the 404.
        await super().app(scope, receive, send)
