"""The README's API example is ``examples/quickstart.py``, and it runs as is on one host."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "quickstart.py"


def test_the_readme_shows_the_examples_code_verbatim() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "examples/quickstart.py" in readme
    (snippet,) = re.findall(r"```python\n(.*?)```", readme, re.DOTALL)
    assert "async def source(" in snippet and "async def receiver(" in snippet
    assert snippet in EXAMPLE.read_text()


@pytest.mark.network
def test_the_quickstart_runs_on_loopback_and_every_copy_is_identical() -> None:
    done = subprocess.run([sys.executable, str(EXAMPLE)], capture_output=True, text=True, timeout=90, check=False)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "source: 3 completed ['completed', 'completed', 'completed']"
    assert lines[1:] == [f"receiver {i}: 1048576 bytes, identical" for i in (1, 2, 3)]
