"""The manifest of a set of files: round trips, limits, and every unsafe path refused."""

from __future__ import annotations

import contextlib
import hashlib
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smocast.apps.fileset import (
    MAX_ENTRIES,
    Entry,
    FileSet,
    Kind,
    body_length,
    case_collision,
    decode,
    safe_path,
)
from smocast.apps.manifest import HEADER_SIZE, Manifest, ManifestError

DIGEST = hashlib.sha256(b"x").digest()


def round_trip(fileset: FileSet) -> FileSet:
    data = fileset.encode()
    version, length = body_length(data[:HEADER_SIZE])
    assert len(data) == HEADER_SIZE + length
    return decode(version, data[HEADER_SIZE:])


def test_a_set_round_trips_with_modes_times_and_digests() -> None:
    fileset = FileSet(
        "photos",
        (
            Entry("photos", Kind.DIRECTORY, 0, 0o755, 1_700_000_000_000_000_000),
            Entry("photos/ünï cødé.jpg", Kind.FILE, 123_456, 0o640, 1_700_000_000_123_456_789, DIGEST),
            Entry("photos/empty", Kind.FILE, 0, 0o600, 5, hashlib.sha256().digest()),
            Entry("photos/sub", Kind.DIRECTORY, 0, 0o700, 7),
        ),
    )
    back = round_trip(fileset)
    assert back == fileset
    assert back.digest == fileset.digest and (back.files, back.directories, back.total_bytes) == (2, 2, 123_456)


def test_the_signature_slot_is_carried_and_left_out_of_the_digest() -> None:
    plain = FileSet("x", (Entry("x", Kind.FILE, 1, 0o644, 1, DIGEST),))
    signed = FileSet("x", plain.entries, signature=b"S" * 64)
    assert round_trip(signed).signature == b"S" * 64
    assert signed.digest == plain.digest and signed.encode() != plain.encode()


def test_a_version_1_manifest_is_a_set_of_one_file() -> None:
    data = Manifest("report.pdf", 42, DIGEST).encode()
    version, length = body_length(data[:HEADER_SIZE])
    fileset = decode(version, data[HEADER_SIZE : HEADER_SIZE + length])
    assert [(e.path, e.size, e.sha256, e.mode) for e in fileset.entries] == [("report.pdf", 42, DIGEST, None)]


@pytest.mark.parametrize(
    "path",
    [
        "/etc/passwd",
        "../evil",
        "a/../../evil",
        "a/./b",
        "a//b",
        "a/",
        "",
        "a\\..\\b",
        "C:evil",
        "nul\x00byte",
        "line\nbreak",
        "esc\x1b[31m",
        "rtl\u202etxt",
        "x" * 256,
        "/".join(["d" * 200] * 21),  # 4220 bytes
    ],
)
def test_unsafe_paths_are_refused(path: str) -> None:
    with pytest.raises(ManifestError, match="refusing"):
        safe_path(path)
    forged = FileSet("f", (Entry(path, Kind.FILE, 1, 0o644, 1, DIGEST),))
    with pytest.raises(ManifestError, match="refusing"):
        round_trip(forged)


@pytest.mark.parametrize("path", ["a", "a/b/c.txt", ".hidden/x", "ü/ß", "a..b", "/".join(["d" * 200] * 20)])
def test_plain_relative_paths_are_kept(path: str) -> None:
    assert safe_path(path) == path


@pytest.mark.parametrize(
    "entries, message",
    [
        ((Entry("a", Kind.FILE, 1, 0o644, 1, DIGEST), Entry("a", Kind.FILE, 1, 0o644, 1, DIGEST)), "twice"),
        ((Entry("a", Kind.FILE, 1, 0o644, 1, DIGEST), Entry("a/b", Kind.FILE, 1, 0o644, 1, DIGEST)), "under the file"),
        ((Entry("s", Kind.STREAM, 0, 0o644, 1), Entry("t", Kind.FILE, 1, 0o644, 1, DIGEST)), "only entry"),
        ((Entry("d", Kind.DIRECTORY, 5, 0o755, 1),), "has a size"),
    ],
)
def test_inconsistent_sets_are_refused(entries: tuple[Entry, ...], message: str) -> None:
    with pytest.raises(ManifestError, match=message):
        round_trip(FileSet("f", entries))


def test_limits_are_checked_before_anything_is_allocated() -> None:
    with pytest.raises(ManifestError, match="manifest body of"):
        body_length(b"SMOF\x02" + struct.pack("!I", 1 << 30))
    body = struct.pack("!H", 1) + b"n" + struct.pack("!I", MAX_ENTRIES + 1)
    with pytest.raises(ManifestError, match="entries"):
        decode(2, body)
    with pytest.raises(ManifestError, match="version 3"):
        body_length(b"SMOF\x03" + struct.pack("!I", 10))


def test_names_that_differ_only_in_case_or_unicode_form_are_found() -> None:
    e = lambda p: Entry(p, Kind.FILE, 0, 0o644, 1, DIGEST)  # noqa: E731
    assert case_collision(FileSet("f", (e("README"), e("readme")))) == ("README", "readme")
    assert case_collision(FileSet("f", (e("caf\u00e9"), e("cafe\u0301")))) is not None
    assert case_collision(FileSet("f", (e("a"), e("b")))) is None


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_random_bodies_decode_or_raise_the_one_error(body: bytes) -> None:
    with contextlib.suppress(ManifestError):
        decode(2, body)


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_mutated_manifests_decode_or_raise_the_one_error(data: st.DataObject) -> None:
    fileset = FileSet("t", (Entry("t", Kind.DIRECTORY, 0, 0o755, 1), Entry("t/f", Kind.FILE, 9, 0o644, 2, DIGEST)))
    body = bytearray(fileset.encode()[HEADER_SIZE:])
    at = data.draw(st.integers(0, len(body) - 1))
    body[at] = data.draw(st.integers(0, 255))
    with contextlib.suppress(ManifestError):
        decode(2, bytes(body))
