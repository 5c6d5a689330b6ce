"""A source's allow-list: the receivers it admits, by key fingerprint (its format: :mod:`smocast.secure.trust`).

A receiver never loads this module.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from smocast.secure.trust import _entries, _fingerprint_at


@dataclass(frozen=True, slots=True)
class AllowList:
    """The receivers a source admits, by fingerprint digest; ``comments`` name them for logs."""

    digests: frozenset[bytes] = frozenset()
    comments: dict[bytes, str] = field(default_factory=dict, compare=False)

    def __contains__(self, digest: object) -> bool:
        return digest in self.digests

    def __len__(self) -> int:
        return len(self.digests)


def parse_allow_list(text: str, name: str = "allow-list") -> AllowList:
    """Parse an allow-list file; raise TrustFileError naming ``name`` and the line at fault."""
    digests: dict[bytes, str] = {}
    for number, fields in _entries(text, name):
        digest = _fingerprint_at(fields[0], name, number)
        digests[digest] = " ".join(fields[1:])
    return AllowList(frozenset(digests), digests)
