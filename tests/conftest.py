"""Shared test configuration: markers that skip with a printed reason when unavailable."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

TESTBED_SOURCES = [f"10.77.0.{n}" for n in range(1, 9)] + [f"fd77::{n}" for n in range(1, 9)]
"""The testbed's first hosts (IPv4, and IPv6 on a testbed built with it): the sources and relays of its tests."""


@pytest.fixture(autouse=True, scope="session")
def own_key_and_known_sources(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The secure mode is the default: the suite runs as a user with a key, which its known
    sources pin for loopback and the testbed's first hosts (as a user who ran ``smocast keygen``
    and pinned it would). Nothing touches the real configuration directory."""
    from smocast.secure import keyfiles
    from smocast.secure.trust import KnownSource

    config = tmp_path_factory.mktemp("config")
    previous = os.environ.get("XDG_CONFIG_HOME")
    os.environ["XDG_CONFIG_HOME"] = str(config)
    identity = keyfiles.create_identity(keyfiles.default_key_path())
    for host in ["127.0.0.1", "localhost", "::1", *TESTBED_SOURCES]:
        entry = KnownSource(host, identity.public.digest, "this user's key")
        keyfiles.append_known_source(keyfiles.default_known_sources_path(), entry)
    yield config
    if previous is None:
        del os.environ["XDG_CONFIG_HOME"]
    else:
        os.environ["XDG_CONFIG_HOME"] = previous


def root_skip_reason() -> str | None:
    """Why root-only tests (network namespaces, tc, nftables) cannot run here, or None."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return "needs root for network namespaces (CI runs as root)"
    for tool in ("ip", "tc", "nft"):
        if shutil.which(tool) is None:
            return f"needs the '{tool}' command (install iproute2 and nftables)"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    reason = root_skip_reason()
    if reason is None:
        return
    skip = pytest.mark.skip(reason=reason)
    for item in items:
        if "root" in item.keywords:
            item.add_marker(skip)
