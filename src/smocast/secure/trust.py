"""Who a receiver trusts and whom a source admits: the known-sources file and the allow-list.

Both are text files a user edits, one entry a line; ``#`` starts a comment, blank lines are
ignored. The parsers here are pure (they take the text and the name to quote in errors);
:mod:`smocast.secure.keyfiles` reads the files.

Known sources (a receiver's, like SSH's ``known_hosts``)::

    # ADDRESS            FINGERPRINT                        COMMENT
    192.0.2.10:5000      SHA256:q3xv-7k2m-...-4tfa         the office file server
    media.example        SHA256:...                         any port of this host

``ADDRESS`` is the source as given to ``--server``: ``HOST:PORT`` for one port, or ``HOST``
for any. A source may have several entries (a key being replaced): any of them is trusted.

Allow-list (a source's, the receivers it admits)::

    SHA256:aaaa-bbbb-...    alice's laptop
    SHA256:cccc-dddd-...    build server

A line that does not parse is an error naming the file and the line, never skipped: a typo
in a trust file must not silently trust or refuse someone.

The allow-list is the source's (:mod:`smocast.secure.allowlist`, which a receiver never
loads); it shares this module's line format.
"""

from __future__ import annotations

from typing import NamedTuple

from smocast.secure.errors import FingerprintError, TrustFileError
from smocast.secure.identity import format_fingerprint, parse_fingerprint


def _entries(text: str, name: str) -> list[tuple[int, list[str]]]:
    """``(line number, fields)`` of every line that is not blank or a comment."""
    if "\x00" in text:
        raise TrustFileError(f"{name}: holds a NUL byte: this is not a text file")
    found = []
    for number, raw in enumerate(text.splitlines(), start=1):
        fields = raw.partition("#")[0].split()
        if fields:
            found.append((number, fields))
    return found


def _fingerprint_at(text: str, name: str, number: int) -> bytes:
    try:
        return parse_fingerprint(text)
    except FingerprintError as exc:
        raise TrustFileError(f"{name}:{number}: {exc}") from None


def _check_address(address: str, name: str, number: int) -> None:
    if address.startswith("["):  # [IPv6]:PORT
        host, _, port = address[1:].partition("]:")
        colon = ":"
    elif address.count(":") == 1:
        host, colon, port = address.partition(":")
    else:  # a host name, an IPv4 address or a bare IPv6 address: any port
        return
    if colon and (not host or not port.isdigit() or not 0 < int(port) < 65536):
        raise TrustFileError(f"{name}:{number}: {address!r} is not HOST, HOST:PORT or [IPv6]:PORT (port 1-65535)")


class KnownSource(NamedTuple):
    """One line of a known-sources file."""

    address: str
    digest: bytes
    comment: str = ""
    line: int = 0

    def matches(self, host: str, port: int) -> bool:
        """True for the source at ``host:port`` (an entry without a port matches every port)."""
        return self.address in (host, f"{host}:{port}", f"[{host}]:{port}")

    def render(self) -> str:
        """The entry as a line of the file (what trust on first use appends)."""
        comment = f"  {self.comment}" if self.comment else ""
        return f"{self.address} {format_fingerprint(self.digest)}{comment}\n"


class KnownSources(NamedTuple):
    """A parsed known-sources file: ``trusted(host, port)`` is the set of keys pinned for a source."""

    entries: tuple[KnownSource, ...] = ()

    def trusted(self, host: str, port: int) -> frozenset[bytes]:
        """The fingerprint digests pinned for the source at ``host:port`` (empty: not known)."""
        return frozenset(e.digest for e in self.entries if e.matches(host, port))


def parse_known_sources(text: str, name: str = "known sources") -> KnownSources:
    """Parse a known-sources file; raise TrustFileError naming ``name`` and the line at fault."""
    entries = []
    for number, fields in _entries(text, name):
        if len(fields) < 2:
            raise TrustFileError(f"{name}:{number}: expected ADDRESS FINGERPRINT [COMMENT], got one field")
        _check_address(fields[0], name, number)
        digest = _fingerprint_at(fields[1], name, number)
        entries.append(KnownSource(fields[0], digest, " ".join(fields[2:]), number))
    return KnownSources(tuple(entries))
