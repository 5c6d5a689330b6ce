"""FileHistory: the manifest and then the file, served again by offset."""

from __future__ import annotations

from pathlib import Path

import pytest

from smocast.apps.filehistory import FileHistory


def test_offsets_span_the_header_and_then_the_file(tmp_path: Path) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(b"0123456789")
    with FileHistory(b"HEAD", path) as history:
        assert history(0, 2) == b"HE"
        assert history(2, 10) == b"AD"  # a read stops at the header's end; the caller asks again
        assert history(4, 3) == b"012"
        assert history(11, 100) == b"789"
        assert history(14, 5) == b""  # past the end
    assert history(5, 3) == b""  # closed: nothing, never stale bytes


def test_a_missing_file_is_an_os_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        FileHistory(b"", tmp_path / "absent")
