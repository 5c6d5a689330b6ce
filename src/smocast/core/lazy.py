"""Package attributes that load their module on first use, so importing a package stays cheap.

A package lists where each public name lives and installs the two module hooks::

    __getattr__, __dir__ = lazy_exports(__name__, globals(), {"Channel": "smocast.smo.channel"})

``import smocast.smo`` then loads nothing more; ``smocast.smo.Channel`` imports
:mod:`smocast.smo.channel` once and caches the name in the package.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def lazy_exports(
    package: str, namespace: dict[str, Any], exports: dict[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` of ``package`` whose names live in ``exports``' modules."""

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted({*exports, *(n for n in namespace if not n.startswith("_"))})

    return __getattr__, __dir__
