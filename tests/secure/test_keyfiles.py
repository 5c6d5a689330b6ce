"""Key and trust files on disk: made 0600, refused when others can read them, parsed with line numbers."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from smocast.secure import keyfiles
from smocast.secure.errors import KeyFileError, TrustFileError
from smocast.secure.identity import Identity
from smocast.secure.trust import KnownSource


def test_the_config_dir_follows_xdg_and_falls_back_to_dot_config(tmp_path: Path) -> None:
    assert keyfiles.config_dir({"XDG_CONFIG_HOME": str(tmp_path)}) == tmp_path / "smocast"
    assert keyfiles.config_dir({"XDG_CONFIG_HOME": "", "HOME": "/home/u"}) == Path("/home/u/.config/smocast")
    assert keyfiles.default_key_path({"XDG_CONFIG_HOME": "/x"}) == Path("/x/smocast/identity.key")


def test_a_new_key_is_0600_in_a_0700_folder_and_loads_back(tmp_path: Path) -> None:
    path = tmp_path / "conf" / "smocast" / "identity.key"
    made = keyfiles.create_identity(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert keyfiles.load_identity(path).public == made.public
    assert keyfiles.load_public(keyfiles.public_path(path)) == made.public
    assert keyfiles.load_public(path) == made.public
    assert made.public.fingerprint in keyfiles.public_path(path).read_text()


def test_the_umask_does_not_widen_the_key(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        keyfiles.create_identity(tmp_path / "k.key")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "k.key").stat().st_mode) == 0o600


def test_an_existing_key_is_kept_unless_forced(tmp_path: Path) -> None:
    path = tmp_path / "identity.key"
    first = keyfiles.create_identity(path)
    with pytest.raises(KeyFileError, match=r"already exists.*--force"):
        keyfiles.create_identity(path)
    assert keyfiles.load_identity(path).public == first.public
    second = keyfiles.create_identity(path, force=True)
    assert keyfiles.load_identity(path).public == second.public != first.public


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660, 0o602])
def test_a_key_others_can_read_or_write_is_refused_with_the_fix(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "identity.key"
    keyfiles.create_identity(path)
    path.chmod(mode)
    with pytest.raises(KeyFileError, match=rf"mode {mode:04o}.*chmod 600 {path}"):
        keyfiles.load_identity(path)


def test_a_key_of_another_user_is_refused(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("changing a file's owner needs root")
    path = tmp_path / "identity.key"
    keyfiles.create_identity(path)
    os.chown(path, 65534, -1)
    with pytest.raises(KeyFileError, match="belongs to another user"):
        keyfiles.load_identity(path)


def test_missing_foreign_and_symlinked_keys_say_what_is_wrong(tmp_path: Path) -> None:
    with pytest.raises(KeyFileError, match=r"no key at .*smocast keygen"):
        keyfiles.load_identity(tmp_path / "none.key")
    junk = tmp_path / "junk.key"
    junk.write_bytes(b"not a key")
    junk.chmod(0o600)
    with pytest.raises(KeyFileError, match="not a smocast key file"):
        keyfiles.load_identity(junk)
    real = tmp_path / "real.key"
    keyfiles.create_identity(real)
    (tmp_path / "link.key").symlink_to(real)
    with pytest.raises(KeyFileError, match="cannot open"):
        keyfiles.load_identity(tmp_path / "link.key")
    (tmp_path / "bad.pub").write_text("ssh-ed25519 AAAA\n")
    with pytest.raises(KeyFileError, match="not a smocast public key"):
        keyfiles.load_public(tmp_path / "bad.pub")


def test_known_sources_are_read_appended_and_checked(tmp_path: Path) -> None:
    path = tmp_path / "known_sources"
    assert keyfiles.read_known_sources(path).entries == ()
    identity = Identity.generate(keyfiles.system_random)
    keyfiles.append_known_source(path, KnownSource("192.0.2.1:5000", identity.public.digest, "first use"))
    assert keyfiles.read_known_sources(path).trusted("192.0.2.1", 5000) == {identity.public.digest}
    with path.open("a") as file:
        file.write("garbage\n")
    with pytest.raises(TrustFileError, match=rf"{path}:2:"):
        keyfiles.read_known_sources(path)


def test_an_allow_list_must_exist_and_be_text(tmp_path: Path) -> None:
    with pytest.raises(KeyFileError, match="no allow-list"):
        keyfiles.read_allow_list(tmp_path / "allow")
    (tmp_path / "allow").write_bytes(b"\xff\xfe")
    with pytest.raises(KeyFileError, match="not UTF-8"):
        keyfiles.read_allow_list(tmp_path / "allow")


def test_system_random_gives_fresh_bytes() -> None:
    assert len(keyfiles.system_random(32)) == 32
    assert keyfiles.system_random(32) != keyfiles.system_random(32)
