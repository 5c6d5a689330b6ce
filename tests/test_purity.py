"""The protocol cores use no sockets, clocks or global randomness (the sans-IO rule).

An AST scan of every module of the pure packages: it fails on an import of an I/O or clock
module, on ``os.urandom``, and on any use of the ``random`` module other than constructing
a ``random.Random`` (which the caller seeds and injects).
"""

from __future__ import annotations

import ast
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

PURE_PACKAGES = ["smocast.core", "smocast.wire", "smocast.smo", "smocast.classes", "smocast.model", "smocast.secure"]
IO_MODULES = {"smocast.secure": {"keyfiles.py"}}
"""Modules of a pure package that do I/O on purpose: ``secure.keyfiles`` reads and writes the key
and trust files and asks the OS for random bytes; nothing else in the package imports it."""
FORBIDDEN_MODULES = {
    "socket",
    "asyncio",
    "time",
    "select",
    "selectors",
    "threading",
    "datetime",
    "secrets",
    "subprocess",
    "logging",
    "uuid",
}


def modules_of(package: str) -> list[Path]:
    spec = importlib.util.find_spec(package)
    if spec is None or spec.submodule_search_locations is None:
        return []
    root = Path(next(iter(spec.submodule_search_locations)))
    return sorted(root.rglob("*.py"))


def violations(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in FORBIDDEN_MODULES:
                    found.append(f"line {node.lineno}: import {alias.name}")
        elif isinstance(node, ast.ImportFrom) and node.module:
            top = node.module.split(".")[0]
            if top in FORBIDDEN_MODULES:
                found.append(f"line {node.lineno}: from {node.module} import ...")
            if top == "random" and any(a.name != "Random" for a in node.names):
                found.append(f"line {node.lineno}: from random import {[a.name for a in node.names]}")
            if top == "os" and any(a.name in {"urandom", "getrandom"} for a in node.names):
                found.append(f"line {node.lineno}: os randomness")
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            if node.value.id == "random" and node.attr != "Random":
                found.append(f"line {node.lineno}: random.{node.attr} (global randomness)")
            if node.value.id == "os" and node.attr in {"urandom", "getrandom", "times"}:
                found.append(f"line {node.lineno}: os.{node.attr}")
    return found


@pytest.mark.parametrize("package", PURE_PACKAGES)
def test_pure_packages_do_no_io(package: str) -> None:
    paths = modules_of(package)
    if not paths:
        pytest.skip(f"{package} does not exist yet")
    allowed = IO_MODULES.get(package, set())
    problems = {str(p.name): v for p in paths if p.name not in allowed and (v := violations(p))}
    assert problems == {}


def imports_of(path: Path) -> set[str]:
    """Every module ``path`` imports, by full name (``from a import b`` gives both ``a`` and ``a.b``)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
    return found


@pytest.mark.parametrize("package", sorted(IO_MODULES))
def test_no_pure_module_imports_the_io_modules(package: str) -> None:
    io_names = IO_MODULES[package]
    io_modules = {f"{package}.{name.removesuffix('.py')}" for name in io_names}
    for path in modules_of(package):
        if path.name not in io_names:
            assert not imports_of(path) & io_modules, f"{path.name} imports an I/O module"


def test_the_excluded_module_is_the_one_doing_io() -> None:
    (path,) = [p for p in modules_of("smocast.secure") if p.name == "keyfiles.py"]
    assert violations(path) != []  # os.urandom: if it ever stops doing I/O, drop the exclusion


RUNTIME_MODULES = ("asyncio", "socket", "selectors", "threading")


@pytest.mark.parametrize("package", [*PURE_PACKAGES, "smocast.sim"])
def test_importing_a_pure_package_loads_no_runtime(package: str) -> None:
    # A fresh interpreter: what this test process already imported must not hide a leak.
    probe = f"import sys, {package}; print(','.join(m for m in {RUNTIME_MODULES!r} if m in sys.modules))"
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.strip()
    assert loaded == "", f"import {package} loaded {loaded}"


def test_the_package_root_loads_the_runtime_only_on_use() -> None:
    probe = (
        "import sys, smocast; a = 'asyncio' in sys.modules; smocast.open_channel; print(a, 'asyncio' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "True"]


DESIGN = Path(__file__).resolve().parent.parent / "docs" / "design.md"
SOURCE = Path(__file__).resolve().parent.parent / "src" / "smocast"


def layer_table() -> dict[str, set[str] | None]:
    """``docs/design.md``'s layer table: each package and what it may import (None: everything)."""
    table: dict[str, set[str] | None] = {}
    for line in DESIGN.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 3 or not cells[0].startswith("`smocast."):
            continue
        allowed = None if cells[2] == "everything" else {p.strip() for p in cells[2].split(",")} - {"nothing"}
        for name in cells[0].split(","):
            table[name.strip().strip("`").removeprefix("smocast.")] = allowed
    return table


def smocast_imports(path: Path) -> set[str]:
    """The top-level smocast packages ``path`` imports (its own included)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        found |= {name.split(".")[1] for name in names if name.startswith("smocast.")}
    return found


def test_every_package_imports_only_what_the_layer_table_allows() -> None:
    table = layer_table()
    assert {"core", "wire", "smo", "sim", "aio", "cli"} <= set(table), "the table lists the packages"
    problems = []
    for path in sorted(SOURCE.rglob("*.py")):
        relative = path.relative_to(SOURCE)
        package = relative.parts[0] if len(relative.parts) > 1 else relative.stem
        if package == "__init__":
            continue
        assert package in table, f"{package} is missing from the layer table in docs/design.md"
        allowed = table[package]
        if allowed is None:
            continue
        for imported in smocast_imports(path) - {package} - allowed:
            problems.append(f"{relative} imports smocast.{imported}")
    assert problems == []


def test_the_layer_check_catches_an_upward_import(tmp_path: Path) -> None:
    module = tmp_path / "bad.py"
    module.write_text("from smocast.aio.driver import Driver\nimport smocast.sim.kernel\n")
    assert smocast_imports(module) == {"aio", "sim"}
    assert not {"aio", "sim"} <= (layer_table()["smo"] or set())


MAX_MODULE_LINES = 400  # "small modules (about 400 lines at most)": docs/design.md, "Who owns what"


def modules_over(limit: int, root: Path = SOURCE) -> list[tuple[str, int]]:
    """Every module under ``root`` longer than ``limit`` lines, with its length."""
    lengths = ((path, len(path.read_text(encoding="utf-8").splitlines())) for path in sorted(root.rglob("*.py")))
    return [(str(path.relative_to(root)), lines) for path, lines in lengths if lines > limit]


def test_every_module_stays_small() -> None:
    assert modules_over(MAX_MODULE_LINES) == []


def test_the_size_check_catches_a_long_module(tmp_path: Path) -> None:
    (tmp_path / "long.py").write_text("x = 1\n" * (MAX_MODULE_LINES + 1), encoding="utf-8")
    (tmp_path / "short.py").write_text("x = 1\n" * MAX_MODULE_LINES, encoding="utf-8")
    assert modules_over(MAX_MODULE_LINES, tmp_path) == [("long.py", MAX_MODULE_LINES + 1)]
