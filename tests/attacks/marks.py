"""Marks of the attack suite: an attack waits for its defence, its control passes today."""

from __future__ import annotations

from typing import Any

import pytest


def waits_for(defence: str) -> pytest.MarkDecorator:
    """Fails today; when ``defence`` lands it passes, and the strict mark makes that an error."""
    return pytest.mark.xfail(strict=True, reason=f"issue 10: {defence}")


def attacked(defence: str) -> list[Any]:
    """Parameters of a scenario run without the attacker (a control that passes today, so a
    failure of the attack is the attack's doing) and with it (waiting for ``defence``)."""
    return [pytest.param(False, id="control"), pytest.param(True, id="attack", marks=waits_for(defence))]
