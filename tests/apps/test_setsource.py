"""The source side: what a command line sends, in which order, and serving any range again."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest
from tests.apps.sets import make_tree, scanned, stream_of

from smocast.apps.fileset import Kind
from smocast.apps.manifest import ManifestError
from smocast.apps.setsource import SetHistory, SourceError, scan


def test_a_directory_is_walked_in_name_order_each_directory_before_its_contents(tmp_path: Path) -> None:
    source = scanned(make_tree(tmp_path))
    assert [(e.path, e.kind.name) for e in source.fileset.entries] == [
        ("tree", "DIRECTORY"),
        ("tree/a.bin", "FILE"),
        ("tree/empty-dir", "DIRECTORY"),
        ("tree/sub", "DIRECTORY"),
        ("tree/sub/b.txt", "FILE"),
        ("tree/sub/deep", "DIRECTORY"),
        ("tree/sub/deep/c.bin", "FILE"),
        ("tree/sub/empty.txt", "FILE"),
    ]
    modes = {e.path: e.mode for e in source.fileset.entries}
    assert (modes["tree/a.bin"], modes["tree/sub/b.txt"]) == (0o755, 0o600)
    assert source.fileset.name == "tree" and source.fileset.total_bytes == 300_000 + 6 + 70_001


def test_links_and_special_files_inside_a_tree_are_skipped_and_listed(tmp_path: Path) -> None:
    tree = make_tree(tmp_path)
    (tree / "to-passwd").symlink_to("/etc/passwd")
    (tree / "to-dir").symlink_to(tmp_path)
    os.mkfifo(tree / "pipe")
    source = scanned(tree)
    paths = {e.path for e in source.fileset.entries}
    assert not {"tree/to-passwd", "tree/to-dir", "tree/pipe"} & paths
    assert sorted(s.split(" (")[1] for s in source.skipped) == ["special file)", "symbolic link)", "symbolic link)"]


def test_files_and_directories_mix_and_two_arguments_of_one_name_are_refused(tmp_path: Path) -> None:
    tree = make_tree(tmp_path)
    extra = tmp_path / "notes.txt"
    extra.write_text("x")
    source = scan([str(tree), str(extra)])
    assert source.fileset.entries[-1].path == "notes.txt" and source.fileset.name == "2 items"
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("y")
    with pytest.raises(ManifestError, match="twice"):
        scan([str(extra), str(tmp_path / "other" / "notes.txt")])


def test_missing_files_and_stdin_with_others_are_refused(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="no such file"):
        scan([str(tmp_path / "nope")])
    with pytest.raises(SourceError, match="only thing"):
        scan(["-", str(tmp_path)])
    stdin = scan(["-"], name="backup.tar")
    assert stdin.is_stream and stdin.fileset.entries[0].path == "backup.tar"
    assert stdin.fileset.entries[0].kind is Kind.STREAM


def test_the_history_serves_every_range_of_the_stream(tmp_path: Path) -> None:
    source = scanned(make_tree(tmp_path))
    stream = stream_of(source)
    rng = random.Random(5)
    with SetHistory(source) as history:
        for _ in range(300):
            offset = rng.randrange(len(stream))
            length = rng.randrange(1, 5000)
            got = history(offset, length)
            assert got and stream[offset : offset + len(got)] == got
        rebuilt, at = bytearray(), 0
        while at < len(stream):
            piece = history(at, 1400)
            rebuilt += piece
            at += len(piece)
        assert bytes(rebuilt) == stream and history(len(stream), 10) == b""


def test_the_history_keeps_few_files_open(tmp_path: Path) -> None:
    tree = tmp_path / "many"
    tree.mkdir()
    for i in range(50):
        (tree / f"f{i:02}").write_bytes(bytes([i]) * 100)
    source = scanned(tree)
    stream = stream_of(source)
    before = open_descriptors()
    with SetHistory(source) as history:
        for at in range(len(source.manifest), len(stream), 100):
            assert history(at, 100) == stream[at : at + 100]
        assert open_descriptors() - before <= 8
    assert open_descriptors() == before


def open_descriptors() -> int:
    return sum(1 for _ in Path("/proc/self/fd").iterdir())
