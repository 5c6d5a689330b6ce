"""What ``smocast keygen`` and ``smocast key fingerprint`` run (loaded only when they run)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from smocast.cli.common import print_json
from smocast.secure import keyfiles


def keygen(args: argparse.Namespace) -> int:
    """Make the key pair; print where it went and its fingerprint."""
    path: Path = args.file or keyfiles.default_key_path()
    identity = keyfiles.create_identity(path, force=args.force)
    public = keyfiles.public_path(path)
    if args.json:
        print_json({"key_file": str(path), "public_file": str(public), "fingerprint": identity.public.fingerprint})
    else:
        sys.stdout.write(
            f"wrote the private key to {path} (mode 0600) and the public key to {public}\n"
            f"fingerprint: {identity.public.fingerprint}\n"
            "receivers pin this source with: --trust " + identity.public.fingerprint + "\n"
        )
    return 0


def fingerprint(args: argparse.Namespace) -> int:
    """Print the fingerprint of this user's key or of ``--file``."""
    path: Path = args.file or keyfiles.default_key_path()
    public = keyfiles.load_public(path)
    if args.json:
        print_json({"file": str(path), "fingerprint": public.fingerprint})
    else:
        sys.stdout.write(public.fingerprint + "\n")
    return 0
