"""The attack suite's scale runs stay out of the default run: select them with ``-m scale``."""

from __future__ import annotations

from pathlib import Path

import pytest

HERE = Path(__file__).parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if "scale" in (config.option.markexpr or ""):
        return
    skip = pytest.mark.skip(reason="a scale run of the attack suite: select it with -m scale")
    for item in items:
        if "scale" in item.keywords and HERE in Path(str(item.path)).parents:
            item.add_marker(skip)
