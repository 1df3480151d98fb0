"""The command line's option values without pydantic, where that changes nothing.

typer (0.2x, with click vendored as typer._click) turns every option's text into its Python value
through a pydantic TypeAdapter: importing pydantic and building the adapters costs ~12 MiB and
~0.7 s of a command's start (1–2 s on an old PC), and `benhan serve` keeps it for its lifetime.
benhan's options are plain str, int, float, bool, Path and lists of them. For those values this
module gives typer the value pydantic would give, computed directly: a str as given; an int or
float written in plain ASCII digits (within the option's min/max); a Path made from its text and
checked by typer's own path rules. Anything else — a value pydantic would refuse (so the error
message is typer's and pydantic's own), a number out of range, another type, a custom parser — is
handed to typer's pydantic coercion as before. tests/test_cli_coercion.py compares both on every
option of every command.

It hooks typer.core.build_runtime_param, which is typer's private API; a typer without it (older
ones coerce with click and import no pydantic) is left as it is.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

_INT = re.compile(r"[+-]?[0-9]{1,18}")
_FLOAT = re.compile(r"[+-]?[0-9]{1,15}(\.[0-9]{1,15})?")


class _Defer(Exception):
    """Not certain of pydantic's answer: let typer's own coercion give it."""


def install() -> bool:
    """Put the direct coercion in front of typer's; True when this typer has the hook."""
    try:
        from typer import _coercion, core
        from typer._click.exceptions import BadParameter
        from typer._param_types import coerce_cli_path, routes_to_path
        original = core.build_runtime_param
        base = _coercion.RuntimeParam
    except (ImportError, AttributeError):
        return False
    if getattr(original, "benhan_direct", False):
        return True

    @dataclass(frozen=True)
    class DirectRuntimeParam(base):  # type: ignore[misc, valid-type]
        leaf: Callable[[Any, Any, Any], Any] = None  # type: ignore[assignment]
        descriptor: Any = None
        many: bool = False
        _full: list = field(default_factory=list)     # typer's own coercion, built when first needed

        def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
            try:
                if self.many:
                    return [self.leaf(v, param, ctx) for v in (value if isinstance(value, (list, tuple)) else [value])]
                return self.leaf(value, param, ctx)
            except _Defer:
                if not self._full:
                    self._full.append(original(self.descriptor))
                return self._full[0]._coerce_value(value, param=param, ctx=ctx)

    def path_leaf(parameter_info: Any) -> Callable[[Any, Any, Any], Any]:
        def leaf(value: Any, param: Any, ctx: Any) -> Any:
            if type(value) is str:
                value = Path(value)       # what pydantic's Path makes of a str
            elif not isinstance(value, Path):
                raise _Defer
            try:
                return coerce_cli_path(value, parameter_info, path_type=Path, param=param, ctx=ctx)
            except BadParameter:
                raise _Defer from None    # its message names the text as typed: typer's own says it
        return leaf

    def number_leaf(kind: type, parameter_info: Any) -> Callable[[Any, Any, Any], Any]:
        pattern = _INT if kind is int else _FLOAT
        low, high = parameter_info.min, parameter_info.max

        def leaf(value: Any, param: Any, ctx: Any) -> Any:
            if type(value) is str and pattern.fullmatch(value):
                number = kind(value)
            elif type(value) is kind:
                number = value
            else:
                raise _Defer
            if (low is not None and number < low) or (high is not None and number > high):
                raise _Defer              # pydantic's words for "out of range"
            return number
        return leaf

    def str_leaf(value: Any, param: Any, ctx: Any) -> Any:
        if type(value) is not str:
            raise _Defer
        return value

    def bool_leaf(value: Any, param: Any, ctx: Any) -> Any:
        if type(value) is not bool:
            raise _Defer
        return value

    def leaf_for(annotation: Any, parameter_info: Any) -> Callable[[Any, Any, Any], Any] | None:
        if parameter_info.parser is not None:
            return None
        if annotation is str:
            return str_leaf
        if annotation is bool:
            return bool_leaf
        if annotation in (int, float) and not parameter_info.clamp:
            return number_leaf(annotation, parameter_info)
        if annotation is Path and routes_to_path(annotation, parameter_info) \
                and getattr(parameter_info, "path_type", None) in (None, Path):
            return path_leaf(parameter_info)
        return None

    def build_runtime_param(descriptor: Any) -> Any:
        annotation, info = descriptor.annotation, descriptor.parameter_info
        leaf = many = None
        if descriptor.file_annotation is None:
            args = getattr(annotation, "__args__", None)
            if getattr(annotation, "__origin__", None) is list and args and len(args) == 1:
                leaf, many = leaf_for(args[0], info), True
            else:
                leaf, many = leaf_for(annotation, info), False
        if leaf is None:
            return original(descriptor)
        return DirectRuntimeParam(parameter_info=info, annotation=annotation, leaf=leaf, descriptor=descriptor,
                                  many=many)

    build_runtime_param.benhan_direct = True      # type: ignore[attr-defined]
    build_runtime_param.typer_own = original      # type: ignore[attr-defined]
    core.build_runtime_param = build_runtime_param
    return True
