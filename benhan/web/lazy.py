"""Modules the server imports at their first use, not at start.

The PDF and signature stack (fpdf2 and its fonts, pikepdf, pyHanko with aiohttp and requests, the
barcode writer) is about 70 MiB of a serving process and a second of its start on an old PC, for
pages most days never open (the printouts, the signatures, the paper import, the labels). The page
modules name these modules as before (`paper.convert(...)`); the import happens at the first call,
under the import lock (a thread-safe one-time cost of that first request), and the module is then
the ordinary one in sys.modules.

    paper = lazy_module("benhan.documents.paper")   # instead of: from benhan.documents import paper
"""
from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any


class LazyModule:
    """Stands for a module until an attribute of it is first read, written or deleted."""

    __slots__ = ("_lazy_name", "_lazy_module")

    def __init__(self, name: str) -> None:
        object.__setattr__(self, "_lazy_name", name)
        object.__setattr__(self, "_lazy_module", None)

    def _load(self) -> ModuleType:
        module = object.__getattribute__(self, "_lazy_module")
        if module is None:
            module = importlib.import_module(object.__getattribute__(self, "_lazy_name"))
            object.__setattr__(self, "_lazy_module", module)
        return module

    def __getattr__(self, attr: str) -> Any:
        return getattr(self._load(), attr)

    def __setattr__(self, attr: str, value: Any) -> None:   # a test's monkeypatch reaches the module
        setattr(self._load(), attr, value)

    def __delattr__(self, attr: str) -> None:
        delattr(self._load(), attr)

    def __repr__(self) -> str:
        return f"<lazy module {object.__getattribute__(self, '_lazy_name')!r}>"


def lazy_module(name: str) -> Any:
    """`name` (a dotted module path), imported when first used."""
    return LazyModule(name)
