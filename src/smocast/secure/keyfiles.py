"""Key and trust files on disk: the one module of the secure mode that does I/O.

It sits outside the pure (sans-IO) set on purpose: it reads and writes files, checks their
permissions and asks the operating system for random bytes (:func:`system_random`, what a
real run injects into the handshake and key generation). Everything it parses goes through
the pure parsers of :mod:`smocast.secure.trust` and :mod:`smocast.secure.identity`.

Files live in the user's configuration directory, ``$XDG_CONFIG_HOME/smocast/`` or
``~/.config/smocast/`` (made with mode 0700):

* ``identity.key``: the Ed25519 private key, PKCS#8 PEM, mode 0600. A key file that others
  can read or write, or that another user owns, is refused with a message saying how to
  fix it: a key others could read is no longer a secret.
* ``identity.pub``: its public half, one line ``smocast-ed25519 BASE64 FINGERPRINT``.
* ``known_sources``: the sources a receiver trusts (format in :mod:`smocast.secure.trust`).
"""

from __future__ import annotations

import base64
import binascii
import os
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from smocast.secure.errors import KeyFileError
from smocast.secure.identity import PUBLIC_KEY_SIZE, Identity, PublicIdentity
from smocast.secure.trust import KnownSource, KnownSources, parse_known_sources

if TYPE_CHECKING:
    from smocast.secure.allowlist import AllowList

KEY_FILE_NAME = "identity.key"
KNOWN_SOURCES_FILE_NAME = "known_sources"
PUBLIC_KEY_TAG = "smocast-ed25519"
MAX_TEXT_FILE = 4 << 20
"""A trust file larger than this is refused: it cannot be a list a user keeps by hand."""


def system_random(n: int) -> bytes:
    """``n`` bytes from the operating system's generator: what a real run injects."""
    return os.urandom(n)


def config_dir(environ: Mapping[str, str] | None = None) -> Path:
    """``$XDG_CONFIG_HOME/smocast``, or ``~/.config/smocast`` when the variable is unset or empty."""
    env = os.environ if environ is None else environ
    base = env.get("XDG_CONFIG_HOME") or str(Path(env.get("HOME") or Path.home()) / ".config")
    return Path(base) / "smocast"


def default_key_path(environ: Mapping[str, str] | None = None) -> Path:
    """Where ``smocast keygen`` writes, and every command looks for, this user's key."""
    return config_dir(environ) / KEY_FILE_NAME


def default_known_sources_path(environ: Mapping[str, str] | None = None) -> Path:
    """This user's known-sources file."""
    return config_dir(environ) / KNOWN_SOURCES_FILE_NAME


def public_path(key_path: Path) -> Path:
    """The public-key file beside a private key file: ``identity.key`` -> ``identity.pub``."""
    return key_path.with_suffix(".pub")


def create_identity(path: Path, *, force: bool = False) -> Identity:
    """Make a new key pair from the OS's random bytes and write it to ``path`` (and its ``.pub``).

    An existing key is never replaced unless ``force``: a source's receivers pin its key.
    """
    if path.exists() and not force:
        raise KeyFileError(
            f"{path} already exists: it is a key your receivers may have pinned; pass --force to replace it"
        )
    identity = Identity.generate(system_random)
    write_identity(identity, path)
    return identity


def write_identity(identity: Identity, path: Path) -> None:
    """Write the private key (mode 0600, atomically) and the public line beside it."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)  # an existing folder keeps its mode
    from cryptography.hazmat.primitives import serialization  # noqa: PLC0415  (a receiver never writes a key)

    pem = identity.private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    _write_atomically(path, pem, 0o600)
    _write_atomically(public_path(path), public_line(identity.public).encode("ascii"), 0o644)


def public_line(public: PublicIdentity) -> str:
    """The one line of a ``.pub`` file."""
    return f"{PUBLIC_KEY_TAG} {base64.b64encode(public.raw).decode('ascii')} {public.fingerprint}\n"


def _write_atomically(path: Path, data: bytes, mode: int) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        os.fchmod(fd, mode)  # the umask must not widen or narrow it
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    temporary.replace(path)


def load_identity(path: Path) -> Identity:
    """Read a private key file; refuse one that is missing, not ours, or readable by others."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        raise KeyFileError(f"no key at {path}: create one with `smocast keygen`") from None
    except OSError as exc:
        raise KeyFileError(f"cannot open the key file {path}: {exc.strerror}") from None
    try:
        _check_private(path, os.fstat(fd))
        data = _read_limited(fd, path)
    finally:
        os.close(fd)
    from cryptography.hazmat.primitives import serialization  # noqa: PLC0415  (only a key that is proved loads it)

    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise KeyFileError(f"{path} is not a smocast key file (an unencrypted PEM Ed25519 key): {exc}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyFileError(f"{path} holds a {type(key).__name__}, not an Ed25519 key")
    return Identity(key)


def _check_private(path: Path, info: os.stat_result) -> None:
    if not stat.S_ISREG(info.st_mode):
        raise KeyFileError(f"{path} is not a regular file")
    if info.st_uid != os.geteuid():
        raise KeyFileError(f"{path} belongs to another user (uid {info.st_uid}): a key must be its user's own")
    loose = stat.S_IMODE(info.st_mode) & 0o077
    if loose:
        raise KeyFileError(
            f"{path} can be read or written by others (mode {stat.S_IMODE(info.st_mode):04o}), so it is no "
            f"longer a secret; smocast refuses to use it. Run `chmod 600 {path}`, or make a new key with "
            "`smocast keygen --force` if others may have copied it"
        )


def _read_limited(fd: int, path: Path) -> bytes:
    data = os.read(fd, MAX_TEXT_FILE + 1)
    if len(data) > MAX_TEXT_FILE:
        raise KeyFileError(f"{path} is larger than {MAX_TEXT_FILE >> 20} MiB: not a key or trust file")
    return data


def load_public(path: Path) -> PublicIdentity:
    """The public key of a ``.pub`` file, or of a private key file (checked as :func:`load_identity` does)."""
    try:
        text = path.read_text(encoding="ascii")
    except FileNotFoundError:
        raise KeyFileError(f"no key at {path}: create one with `smocast keygen`") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise KeyFileError(f"cannot read {path}: {exc}") from None
    if "PRIVATE KEY" in text:
        return load_identity(path).public
    fields = text.split()
    if len(fields) < 2 or fields[0] != PUBLIC_KEY_TAG:
        raise KeyFileError(f"{path} is not a smocast public key (a line `{PUBLIC_KEY_TAG} BASE64 ...`)")
    try:
        raw = base64.b64decode(fields[1], validate=True)
    except binascii.Error:
        raw = b""
    if len(raw) != PUBLIC_KEY_SIZE:
        raise KeyFileError(f"{path}: the key is not {PUBLIC_KEY_SIZE} bytes of base64")
    return PublicIdentity(raw)


def _read_text(path: Path) -> str:
    try:
        with path.open("rb") as file:
            data = file.read(MAX_TEXT_FILE + 1)
    except OSError as exc:
        raise KeyFileError(f"cannot read {path}: {exc.strerror}") from None
    if len(data) > MAX_TEXT_FILE:
        raise KeyFileError(f"{path} is larger than {MAX_TEXT_FILE >> 20} MiB: not a trust file")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise KeyFileError(f"{path} is not UTF-8 text (byte {exc.start})") from None


def read_known_sources(path: Path) -> KnownSources:
    """Parse a known-sources file; a missing file is an empty one (nothing trusted yet)."""
    if not path.exists():
        return KnownSources()
    return parse_known_sources(_read_text(path), str(path))


def read_allow_list(path: Path) -> AllowList:
    """Parse an allow-list file (``--allow FILE``); it must exist."""
    if not path.exists():
        raise KeyFileError(f"no allow-list at {path}")
    from smocast.secure.allowlist import parse_allow_list  # noqa: PLC0415  (a source's file: a receiver never loads it)

    return parse_allow_list(_read_text(path), str(path))


def append_known_source(path: Path, entry: KnownSource) -> None:
    """Add one entry to a known-sources file (trust on first use), creating it if needed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as file:
        file.write(entry.render())
