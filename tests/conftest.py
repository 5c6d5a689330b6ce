"""Shared test configuration: markers that skip with a printed reason when unavailable."""

from __future__ import annotations

import os
import shutil

import pytest


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
