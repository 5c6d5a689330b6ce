"""The environment of the processes a benchmark starts, with Python's bytecode cache on.

An installed copy has its ``.pyc`` files (pip compiles them at install). A checkout run with
``PYTHONDONTWRITEBYTECODE`` set and no ``__pycache__`` compiles every module it imports at each
start, and a benchmark of many processes would measure the compiler: compile the trees once
with :func:`compile_trees`, and start the processes with :func:`child_environment`.
"""

from __future__ import annotations

import compileall
import os
from collections.abc import Sequence
from pathlib import Path


def child_environment(python_path: str | None = None) -> dict[str, str]:
    """The environment of every process a run starts: this one's, with Python's bytecode cache on.

    ``PYTHONDONTWRITEBYTECODE`` is dropped, so a smocast process reads (or, the first time,
    writes) its ``.pyc`` files as an installed copy does, rather than compiling every module it
    imports at each start; ``python_path`` (another tree's ``src``) goes first on the path.
    Call :func:`compile_trees` once before the runs so no measured run pays for the compiling.
    """
    env = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}
    if python_path is not None:
        env["PYTHONPATH"] = python_path
    return env


def compile_trees(packages: Sequence[Path]) -> None:
    """Write the bytecode of every module under each of ``packages`` (folders), where it is missing or stale."""
    for package in packages:
        if not compileall.compile_dir(package, quiet=1):
            raise RuntimeError(f"could not compile {package}: run `python -m compileall {package}` to see why")
