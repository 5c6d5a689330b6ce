"""Mutable counters as plain slotted classes: cheaper to create at import than a dataclass.

A subclass lists its counters in ``__slots__`` and sets each in ``__init__``; it gets
equality (same class, same values: two paths that must count alike compare their counters)
and a repr naming every counter. Like a mutable dataclass, it is not hashable.
"""

from __future__ import annotations


class Counters:
    """Equality and repr over ``__slots__`` (see the module docstring)."""

    __slots__ = ()

    def values(self) -> dict[str, object]:
        """Every counter by name, in ``__slots__`` order."""
        names: tuple[str, ...] = getattr(type(self), "__slots__", ())
        return {name: getattr(self, name) for name in names}

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        assert isinstance(other, Counters)
        return self.values() == other.values()

    __hash__ = None  # type: ignore[assignment]  # mutable: as a dataclass with eq and not frozen

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.values().items())})"
