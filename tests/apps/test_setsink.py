"""Writing a received set: confinement, conflicts, free space, verification, modes, resume.

The writer is fed the bytes a source would send, in process (no network): each attack is a
manifest or a tree a hostile source or a local user could arrange.
"""

from __future__ import annotations

import hashlib
import os
import random
import stat
from pathlib import Path

import pytest
from tests.apps.sets import forged, make_tree, scanned, snapshot, stream_of

from smocast.apps import resume
from smocast.apps.fileset import TRAILER, Entry, FileSet, Kind
from smocast.apps.manifest import ManifestError
from smocast.apps.safepath import OutputDir, OutputError
from smocast.apps.setplan import WritePolicy
from smocast.apps.setsink import ResumeMismatch, SetWriter

ORIGIN = "127.0.0.1:5000@239.1.1.1:5000"


def receive(out: Path, stream: bytes, policy: WritePolicy | None = None, piece: int = 7_919) -> SetWriter:
    """Feed ``stream`` to a writer into ``out`` in pieces, finish it, return it."""
    with OutputDir(out) as output:
        writer = SetWriter(output, policy or WritePolicy(), ORIGIN)
        try:
            for at in range(0, len(stream), piece):
                writer.feed(stream[at : at + piece])
            writer.finish()
        except BaseException:
            writer.discard()
            raise
    return writer


def file_entry(path: str, data: bytes, mode: int = 0o644) -> Entry:
    return Entry(path, Kind.FILE, len(data), mode, 1_600_000_000_000_000_000, hashlib.sha256(data).digest())


@pytest.fixture
def out(tmp_path: Path) -> Path:
    path = tmp_path / "out"
    path.mkdir()
    return path


def test_a_tree_arrives_whole_with_modes_times_and_empty_entries(tmp_path: Path, out: Path) -> None:
    tree = make_tree(tmp_path)
    source = scanned(tree)
    writer = receive(out, stream_of(source))
    assert snapshot(out) == snapshot(tree.parent.parent / tmp_path.name) | {} or snapshot(out / "tree") == snapshot(
        tree
    )
    assert snapshot(out / "tree") == snapshot(tree)
    for path in tree.rglob("*"):
        got = out / "tree" / path.relative_to(tree)
        assert stat.S_IMODE(got.stat().st_mode) == stat.S_IMODE(path.stat().st_mode)
        assert got.stat().st_mtime_ns == path.stat().st_mtime_ns
    assert (out / "tree" / "empty-dir").is_dir() and (out / "tree" / "sub" / "empty.txt").read_bytes() == b""
    assert not list(out.rglob(".*"))  # no temporary file, no resume state left
    assert writer.offset == len(stream_of(source))


def test_setuid_and_sticky_bits_are_never_applied(out: Path) -> None:
    entry = file_entry("tool", b"#!/bin/sh\n", mode=0o4755)
    receive(out, forged(entry).encode() + b"#!/bin/sh\n")
    assert stat.S_IMODE((out / "tool").stat().st_mode) == 0o755


# --- confinement ---------------------------------------------------------------------------------------


def naive_write(out: Path, path: str, data: bytes) -> None:
    """What a receiver that joins paths and follows links would do (the attack's control)."""
    target = out / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)


def test_a_symlink_in_the_output_tree_never_leads_outside(tmp_path: Path, out: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (out / "link").symlink_to(outside)
    naive_write(out, "link/control", b"x")  # the attack works on a receiver that follows links
    assert (outside / "control").exists()
    (outside / "control").unlink()

    evil = forged(Entry("link", Kind.DIRECTORY, 0, 0o755, 1), file_entry("link/evil", b"owned"))
    with pytest.raises(OutputError, match=r"symbolic link|not a directory"):
        receive(out, evil.encode() + b"owned")
    evil = forged(file_entry("link/evil", b"owned"))
    with pytest.raises(OutputError, match="symbolic link"):
        receive(out, evil.encode() + b"owned")
    assert list(outside.iterdir()) == []


def test_a_symlink_under_the_final_name_is_replaced_not_written_through(tmp_path: Path, out: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_bytes(b"precious")
    (out / "file").symlink_to(victim)
    with pytest.raises(OutputError, match="already exists"):
        receive(out, forged(file_entry("file", b"new")).encode() + b"new")
    receive(out, forged(file_entry("file", b"new")).encode() + b"new", WritePolicy(overwrite=True))
    assert victim.read_bytes() == b"precious"
    assert not (out / "file").is_symlink() and (out / "file").read_bytes() == b"new"


@pytest.mark.parametrize("path", ["../evil", "/tmp/evil", "a/../../evil", "nul\x00", "x" * 300])
def test_forged_paths_are_refused_and_nothing_is_written(out: Path, path: str) -> None:
    with pytest.raises(ManifestError, match="refusing"):
        receive(out, forged(file_entry(path, b"evil")).encode() + b"evil")
    assert list(out.iterdir()) == []


def test_names_differing_only_in_case_are_refused_on_a_case_insensitive_file_system(
    out: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fileset = forged(file_entry("README", b"a"), file_entry("readme", b"b"))
    with OutputDir(out) as output:
        assert output.case_insensitive() is False  # this test machine's file system keeps case
    receive(out, fileset.encode() + b"ab")  # so both names are kept apart here
    assert (out / "README").read_bytes() == b"a" and (out / "readme").read_bytes() == b"b"
    monkeypatch.setattr(OutputDir, "case_insensitive", lambda self: True)  # the probe's answer on vfat or APFS
    other = out / "second"
    other.mkdir()
    with pytest.raises(ManifestError, match="case-insensitive"):
        receive(other, fileset.encode() + b"ab")
    assert list(other.iterdir()) == []


# --- safe writes ---------------------------------------------------------------------------------------


def test_existing_files_are_refused_before_anything_is_written(out: Path) -> None:
    (out / "b").write_bytes(b"old")
    fileset = forged(file_entry("a", b"1"), file_entry("b", b"2"))
    with pytest.raises(OutputError, match=r"already exists.*nothing was written"):
        receive(out, fileset.encode() + b"12")
    assert snapshot(out) == {"b": b"old"}


def test_overwrite_replaces_and_backup_keeps_the_old_file(out: Path) -> None:
    (out / "b").write_bytes(b"old")
    receive(out, forged(file_entry("b", b"new")).encode() + b"new", WritePolicy(backup=True))
    assert snapshot(out) == {"b": b"new", "b~": b"old"}
    receive(out, forged(file_entry("b", b"newer")).encode() + b"newer", WritePolicy(overwrite=True))
    assert snapshot(out) == {"b": b"newer", "b~": b"old"}


def test_an_identical_existing_file_is_kept_without_a_conflict(out: Path) -> None:
    (out / "same").write_bytes(b"data")
    writer = receive(out, forged(file_entry("same", b"data")).encode() + b"data")
    assert snapshot(out) == {"same": b"data"} and writer.offset > 0


def test_a_directory_is_never_replaced_by_a_file(out: Path) -> None:
    (out / "d").mkdir()
    (out / "f").write_bytes(b"x")
    with pytest.raises(OutputError, match="d is a directory"):
        receive(out, forged(file_entry("d", b"x")).encode() + b"x", WritePolicy(overwrite=True))
    with pytest.raises(OutputError, match="not a directory"):
        receive(out, forged(Entry("f", Kind.DIRECTORY, 0, 0o755, 1)).encode(), WritePolicy(overwrite=True))
    assert (out / "d").is_dir() and (out / "f").read_bytes() == b"x"


def test_a_set_that_cannot_fit_is_refused_at_once(out: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(OutputDir, "free_bytes", lambda self: 1000)
    fileset = forged(file_entry("big", b"x" * 5000))
    with OutputDir(out) as output:
        writer = SetWriter(output, WritePolicy(), ORIGIN)
        with pytest.raises(OutputError, match=r"needs 5000 bytes.*has 1000 bytes"):
            writer.feed(fileset.encode())  # the manifest alone: no file byte has arrived
    assert list(out.iterdir()) == []


def test_a_file_whose_bytes_do_not_match_its_hash_is_not_saved(out: Path) -> None:
    entry = Entry("f", Kind.FILE, 4, 0o644, 1, hashlib.sha256(b"good").digest())
    with pytest.raises(OutputError, match="SHA-256 mismatch"):
        receive(out, forged(entry).encode() + b"evil")
    assert list(out.iterdir()) == []


def test_more_bytes_than_announced_are_refused(out: Path) -> None:
    with pytest.raises(OutputError, match="more than its manifest"):
        receive(out, forged(file_entry("f", b"ab")).encode() + b"abc")


def test_a_stream_ends_with_its_size_and_hash(out: Path) -> None:
    data = random.Random(3).randbytes(100_000)
    fileset = FileSet("stdin", (Entry("stdin", Kind.STREAM, 0, 0o644, None),))
    trailer = TRAILER.pack(len(data), hashlib.sha256(data).digest())
    assert receive(out, fileset.encode() + data + trailer).bytes_to_come() is None  # its length is not known
    assert (out / "stdin").read_bytes() == data
    with pytest.raises(OutputError, match="mismatch"):
        receive(out / "..", fileset.encode() + data + TRAILER.pack(len(data), bytes(32)), WritePolicy(overwrite=True))


def test_ten_thousand_small_files(tmp_path: Path, out: Path) -> None:
    tree = tmp_path / "many"
    for d in range(100):
        (tree / f"d{d:02}").mkdir(parents=True)
        for f in range(100):
            (tree / f"d{d:02}" / f"f{f:02}").write_bytes(f"{d}/{f}".encode())
    source = scanned(tree)
    assert source.fileset.files == 10_000
    receive(out, stream_of(source), piece=1 << 18)
    assert sum(1 for p in (out / "many").rglob("*") if p.is_file()) == 10_000
    assert (out / "many" / "d42" / "f07").read_bytes() == b"42/7"


# --- resume ----------------------------------------------------------------------------------------------


def interrupted(out: Path, stream: bytes, upto: int) -> None:
    """A receive that stopped after ``upto`` bytes (as if the network failed): it keeps its partial."""
    with OutputDir(out) as output:
        writer = SetWriter(output, WritePolicy(), ORIGIN)
        writer.feed(stream[:upto])
        assert writer.suspend()


def resumed(out: Path, stream: bytes, overlap: int = 4096) -> SetWriter:
    (state,) = resume.states(out)
    with OutputDir(out) as output:
        writer = SetWriter(output, WritePolicy(), ORIGIN)
        manifest = resume.load_manifest(out, state.ident)
        assert manifest is not None
        writer.restore(state, manifest)
        start = writer.offset - writer.partial_tail(overlap)
        writer.feed_at(start, stream[start:])
        writer.finish()
    return writer


def test_an_interrupted_receive_resumes_at_its_first_missing_byte(tmp_path: Path, out: Path) -> None:
    tree = make_tree(tmp_path)
    stream = stream_of(scanned(tree))
    half = len(stream) // 2  # inside a.bin
    interrupted(out, stream, half)
    (state,) = resume.states(out)
    assert state.offset == half and state.partial is not None and state.partial.path == "tree/a.bin"
    assert not (out / "tree" / "a.bin").exists()  # nothing partial under the final name
    writer = resumed(out, stream)
    assert writer.resumed_from == half
    assert snapshot(out / "tree") == snapshot(tree)
    assert resume.states(out) == [] and not list(out.rglob(".*"))


def test_a_partial_longer_than_its_state_is_cut_back(tmp_path: Path, out: Path) -> None:
    tree = make_tree(tmp_path)
    stream = stream_of(scanned(tree))
    interrupted(out, stream, 100_000)
    (state,) = resume.states(out)
    assert state.partial is not None
    with (out / "tree" / state.partial.temp).open("ab") as handle:
        handle.write(b"written after the last save")
    resumed(out, stream)
    assert snapshot(out / "tree") == snapshot(tree)


def test_a_server_sending_other_bytes_is_caught_by_the_overlap(tmp_path: Path, out: Path) -> None:
    tree = make_tree(tmp_path)
    stream = stream_of(scanned(tree))
    interrupted(out, stream, 100_000)
    other = bytearray(stream)
    other[90_000:110_000] = bytes(20_000)
    with pytest.raises(ResumeMismatch, match="another transfer"):
        resumed(out, bytes(other))


def test_files_finished_after_the_last_save_are_found_in_place(tmp_path: Path, out: Path) -> None:
    tree = make_tree(tmp_path)
    stream = stream_of(scanned(tree))
    with OutputDir(out) as output:
        writer = SetWriter(output, WritePolicy(), ORIGIN)
        writer.feed(stream[: len(stream) // 2])
        writer.save()  # the last periodic save, at half way
        writer.feed(stream[len(stream) // 2 : -1000])  # then more files completed before the kill
        assert (out / "tree" / "a.bin").exists()
        os.close(writer._fd or -1)  # the process dies here: no more saves
    resumed(out, stream)
    assert snapshot(out / "tree") == snapshot(tree)


def test_a_state_whose_partial_file_is_gone_is_refused(tmp_path: Path, out: Path) -> None:
    stream = stream_of(scanned(make_tree(tmp_path)))
    interrupted(out, stream, 100_000)
    (state,) = resume.states(out)
    assert state.partial is not None
    (out / "tree" / state.partial.temp).unlink()
    with pytest.raises(OutputError, match="partial file"):
        resumed(out, stream)


def test_the_writer_counts_the_stream_bytes_still_to_come(tmp_path: Path, out: Path) -> None:
    """What ``smocast recv`` waits for in whole chunks: exact, so the last read never waits for
    bytes that will not come (it would wait for the end of the stream instead)."""
    source = scanned(make_tree(tmp_path))
    stream = stream_of(source)
    with OutputDir(out) as output:
        writer = SetWriter(output, WritePolicy(), ORIGIN)
        assert writer.bytes_to_come() is None  # the manifest is not in yet
        writer.feed(stream[:10])
        assert writer.bytes_to_come() is None
        for at in range(10, len(stream), 50_000):
            writer.feed(stream[at : at + 50_000])
            assert writer.bytes_to_come() == len(stream) - writer.offset
        assert writer.bytes_to_come() == 0
        writer.finish()
