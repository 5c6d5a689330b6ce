"""Start-up: a command imports only what it runs (issue 12: receivers start hundreds of times at scale).

Each check runs in a fresh interpreter, so modules other tests loaded do not count.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

from smocast.aio.sockets import free_udp_port
from smocast.cli.main import COMMANDS, build_parser, command_name

T = TypeVar("T")

HEAVY = ("numpy", "matplotlib", "smocast.sim", "smocast.model", "smocast.classes", "smocast.testbed")


def printed_after(code: str, expression: str) -> Any:
    """The JSON value of ``expression`` in a fresh interpreter that ran ``code`` first (which may print)."""
    script = f"{code}\nimport dataclasses, json, sys\nprint('RESULT=' + json.dumps({expression}))\n"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False)
    line = next(line for line in done.stdout.splitlines() if line.startswith("RESULT="))
    return json.loads(line.removeprefix("RESULT="))


def modules_after(code: str) -> list[str]:
    """The modules a fresh interpreter holds after running ``code`` (which may print to stdout)."""
    modules: list[str] = printed_after(code, "sorted(sys.modules)")
    return modules


# The receive path's records are NamedTuples (a class of those costs several times less to
# create); these few stay dataclasses: they check their fields when made, cache a property,
# or have a field named like a tuple's method (Interface.index).
RECEIVE_PATH_DATACLASSES = {
    "smocast.aio.netaddr.Interface",
    "smocast.apps.fileset.FileSet",
    "smocast.core.acking.AckFrequency",
    "smocast.secure.hold.HoldPolicy",
    "smocast.secure.keyexchange.Trust",
    "smocast.smo.receiver_config.ReceiverConfig",
}


def dataclasses_in(code: str) -> set[str]:
    """The dataclasses of smocast's modules a fresh interpreter has made after running ``code``."""
    made = printed_after(
        code,
        "[f'{n}.{k}' for n, m in list(sys.modules.items()) if n.startswith('smocast') "
        "for k, v in vars(m).items() if isinstance(v, type) and v.__module__ == n and dataclasses.is_dataclass(v)]",
    )
    return set(made)


def heavy_in(modules: list[str]) -> list[str]:
    return [m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY)]


def test_building_the_recv_parser_and_importing_its_handlers_loads_nothing_heavy() -> None:
    modules = modules_after(
        "from smocast.cli.main import build_parser\n"
        "build_parser(['recv'])\n"
        "import smocast.cli.recv_run, smocast.cli.recv_fallback, smocast.cli.recv_realtime\n"
    )
    assert "smocast.cli.recv_run" in modules
    assert heavy_in(modules) == []


def test_the_daemon_and_the_file_sets_load_nothing_heavy() -> None:
    modules = modules_after(
        "from smocast.cli.main import build_parser\n"
        "build_parser(['recvd'])\n"
        "import smocast.cli.recvd_run, smocast.apps.daemon, smocast.apps.setreceive\n"
    )
    assert "smocast.apps.daemon" in modules
    assert heavy_in(modules) == []
    assert [m for m in modules if m.startswith("smocast.aio.channel")] == []  # a receiver loads no source side


def test_recvd_help_loads_neither_the_runtime_nor_rich() -> None:
    modules = modules_after(
        "from smocast.cli.main import main\ntry:\n    main(['recvd', '--help'])\nexcept SystemExit:\n    pass\n"
    )
    assert "smocast.cli.recvd_cmd" in modules
    assert [m for m in modules if m.startswith(("smocast.aio", "smocast.smo", "smocast.apps", "rich"))] == []


@pytest.mark.network
def test_a_recv_run_loads_nothing_heavy_and_no_rich_with_json() -> None:
    port = free_udp_port()
    argv = ["recv", "--server", f"127.0.0.1:{port}", "--group", f"239.255.91.1:{port}", "--wait", "0", "--json"]
    modules = modules_after(f"from smocast.cli.main import main\nmain({argv!r})\n")
    assert "smocast.aio.receiver" in modules  # it did run
    assert "smocast.aio.security" in modules  # secure by default: the layer loaded
    assert heavy_in(modules) == []
    assert [m for m in modules if m == "rich" or m.startswith("rich.")] == []
    assert source_side_in(modules) == []
    assert "datetime" not in modules  # only JSON log lines need it
    assert "ctypes.util" not in modules  # recvmmsg is found among the interpreter's symbols, no ldconfig run


SOURCE_SIDE = (
    "smocast.aio.channel",
    "smocast.aio.relay",
    "smocast.smo.channel",
    "smocast.smo.child",
    "smocast.smo.source_events",
    "smocast.smo.config",  # the channel's settings; a receiver's are in smocast.smo.receiver_config
    "smocast.smo.policies",
    "smocast.core.congestion",
    "smocast.secure.source",
    "smocast.secure.exchange_source",  # the source's half of the key exchange
    "smocast.secure.rotation",  # the group key schedule
    "smocast.secure.allowlist",
    "smocast.secure.signing",  # the block signer and its policies
    "smocast.aio.source_security",
    "cryptography.hazmat.primitives.serialization",  # PEM keys: a receiver that does not identify reads none
    "shutil",  # argparse's formatter loads it for the terminal's width (with bz2 and lzma)
)


def source_side_in(modules: list[str]) -> list[str]:
    """What only a source (or a key file's reader) needs, among ``modules``."""
    return [m for m in modules if any(m == s or m.startswith(s + ".") for s in SOURCE_SIDE)]


def after_a_secure_receive(tmp_path: Path, measure: Callable[[str], T]) -> T:
    """``measure(code)`` where ``code`` runs a whole secure ``smocast recv`` of a source started
    for it (``bench startup``'s secure case): the handshake, the key checks and a file."""
    from smocast.bench import startup_secure

    env = dict(os.environ)
    setup = startup_secure.prepare(tmp_path, env)
    source, argv = startup_secure.serve(setup, env)
    try:
        return measure(f"from smocast.cli.main import main\nassert main({list(argv)!r}) == 0\n")
    finally:
        startup_secure.finish_source(source)


@pytest.mark.network
def test_a_whole_secure_receive_loads_no_source_side(tmp_path: Path) -> None:
    """The closed-port run stops before the handshake; this one verifies a source's key and a file."""
    modules = after_a_secure_receive(tmp_path, modules_after)
    assert "smocast.secure.keyexchange" in modules and "smocast.apps.setreceive" in modules  # it did receive
    assert source_side_in(modules) == []
    assert heavy_in(modules) == []
    assert [m for m in modules if m == "rich" or m.startswith("rich.")] == []


@pytest.mark.network
def test_a_whole_secure_receive_makes_no_other_dataclass(tmp_path: Path) -> None:
    """Each frozen dataclass costs a receiver about a millisecond to create when it starts."""
    made = after_a_secure_receive(tmp_path, dataclasses_in)
    assert "smocast.smo.receiver_config.ReceiverConfig" in made  # it did receive
    assert made - RECEIVE_PATH_DATACLASSES == set()


@pytest.mark.network
def test_the_recv_program_loads_no_ssl_and_ssl_still_imports_after() -> None:
    port = free_udp_port()
    argv = ["smocast", "recv", "--server", f"127.0.0.1:{port}", "--group", f"239.255.91.2:{port}", "--wait", "0"]
    modules = modules_after(
        "import sys\n"
        f"sys.argv = {[*argv, '--insecure', '--json']!r}\n"
        "from smocast.cli.main import main\n"
        "main()\n"
        "assert 'ssl' not in sys.modules and 'asyncio' in sys.modules\n"
        "print('RAN')\n"
    )
    assert "smocast.aio.receiver" in modules
    assert "ssl" not in modules and "_ssl" not in modules


def test_asyncio_without_tls_still_runs_a_loop_and_leaves_ssl_importable() -> None:
    modules = modules_after(
        "from smocast.cli.common import asyncio_without_tls\n"
        "asyncio_without_tls()\n"
        "import sys, asyncio\n"
        "assert 'ssl' not in sys.modules\n"
        "assert asyncio.run(asyncio.sleep(0, result=7)) == 7\n"
        "import ssl\n"
        "assert ssl.PROTOCOL_TLS_CLIENT\n"
    )
    assert "ssl" in modules  # imported on purpose at the end


def test_asyncio_without_tls_changes_nothing_where_asyncio_is_loaded() -> None:
    modules = modules_after(
        "import asyncio, sys\n"
        "from smocast.cli.common import asyncio_without_tls\n"
        "asyncio_without_tls()\n"
        "assert sys.modules.get('ssl') is not None\n"
    )
    assert "ssl" in modules


def test_the_source_side_events_load_on_first_use_and_are_the_same_classes() -> None:
    modules = modules_after(
        "from smocast.smo import events as ev\n"
        "import sys\n"
        "assert 'smocast.smo.source_events' not in sys.modules\n"
        "from smocast.smo import source_events\n"
        "assert ev.ReceiverJoined is source_events.ReceiverJoined and ev.SourceEvent == source_events.SourceEvent\n"
    )
    assert "smocast.smo.source_events" in modules


def test_the_channel_settings_still_offer_the_receivers() -> None:
    from smocast.smo import config, receiver_config

    assert config.ReceiverConfig is receiver_config.ReceiverConfig and config.DEFAULT_MSS == receiver_config.DEFAULT_MSS


def test_recv_help_loads_neither_the_runtime_nor_rich() -> None:
    modules = modules_after(
        "from smocast.cli.main import main\ntry:\n    main(['recv', '--help'])\nexcept SystemExit:\n    pass\n"
    )
    assert "smocast.cli.recv_cmd" in modules
    loaded = [m for m in modules if m.startswith(("smocast.aio", "smocast.smo", "rich"))]
    assert loaded == []
    assert "asyncio" not in modules  # help loads no runtime, not even asyncio without its ssl


def test_the_version_loads_no_asyncio() -> None:
    modules = modules_after(
        "from smocast.cli.main import main\ntry:\n    main(['--version'])\nexcept SystemExit:\n    pass\n"
    )
    assert "smocast.cli.main" in modules
    assert "asyncio" not in modules


def test_a_named_command_builds_its_own_parser_alone() -> None:
    modules = modules_after("from smocast.cli.main import build_parser\nbuild_parser(['recv', '--help'])\n")
    commands = [m for m in modules if m.startswith("smocast.cli.") and m.endswith("_cmd")]
    assert commands == ["smocast.cli.recv_cmd"]


def test_every_command_is_found_by_its_name() -> None:
    for module in COMMANDS:
        parser = build_parser([command_name(module)])
        (group,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        assert list(group.choices) == [command_name(module)]


def test_building_every_parser_loads_nothing_heavy() -> None:
    modules = modules_after("from smocast.cli.main import build_parser\nbuild_parser([])\n")
    assert heavy_in([m for m in modules if m != "smocast.model" and not m.startswith("smocast.model.")]) == []


def test_the_key_commands_load_no_cryptography_until_they_run() -> None:
    modules = modules_after(
        "from smocast.cli.main import build_parser, main\n"
        "build_parser(['keygen']); build_parser(['key'])\n"
        "try:\n    main(['key', 'fingerprint', '--help'])\nexcept SystemExit:\n    pass\n"
    )
    assert "smocast.cli.key_cmd" in modules and "smocast.cli.keygen_cmd" in modules
    assert [m for m in modules if m.startswith(("cryptography", "smocast.secure"))] == []


# --- the end of a receiver's process ----------------------------------------------------------------


def _closed_recv_argv(tmp_path: Path) -> list[str]:
    port = free_udp_port()
    server, group = f"127.0.0.1:{port}", f"239.255.91.3:{port}"
    logging = ["--log-file", str(tmp_path / "recv.log"), "--log-level", "info"]
    return ["recv", "--server", server, "--group", group, "--wait", "0", "--insecure", "--json", *logging]


@pytest.mark.network
def test_a_receiver_program_ends_at_once_with_its_output_its_log_and_its_code(tmp_path: Path) -> None:
    argv = _closed_recv_argv(tmp_path)
    marker = tmp_path / "atexit-ran"
    code = (
        "import atexit, pathlib, sys\n"
        f"atexit.register(pathlib.Path({str(marker)!r}).write_text, 'yes')\n"
        f"sys.argv = ['smocast', *{argv!r}]\n"
        "import smocast.cli.main as m\n"
        "m.run()\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 1  # connection refused: a failure, reported
    assert json.loads(done.stdout)["error"]["kind"] == "connect-failed"  # stdout flushed whole
    assert (tmp_path / "recv.log").read_text().endswith("nothing is listening there)\n")  # logging flushed, closed
    assert marker.read_text() == "yes"  # the atexit functions ran


@pytest.mark.network
def test_under_a_profiler_the_receiver_program_exits_normally_so_the_profile_is_written(tmp_path: Path) -> None:
    profile = tmp_path / "recv.prof"
    argv = [
        sys.executable,
        "-m",
        "cProfile",
        "-o",
        str(profile),
        "-m",
        "smocast.cli.main",
        *_closed_recv_argv(tmp_path),
    ]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    assert json.loads(done.stdout)["error"]["kind"] == "connect-failed"  # it ran (cProfile swallows the exit code)
    assert profile.stat().st_size > 0


def _teardown_seen(tmp_path: Path, argv: list[str]) -> tuple[subprocess.CompletedProcess[str], bool]:
    """Run the program with ``argv``; whether the interpreter's teardown ran (a finalizer it calls wrote a file)."""
    marker = tmp_path / "teardown-ran"
    code = (
        "import pathlib, sys\n"
        "class Witness:\n"
        f"    def __del__(self): pathlib.Path({str(marker)!r}).write_text('yes')\n"
        "witness = Witness()\n"  # freed when the interpreter tears __main__ down
        f"sys.argv = ['smocast', *{argv!r}]\n"
        "import smocast.cli.main as m\n"
        "m.run()\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    return done, marker.exists()


def test_other_commands_exit_normally(tmp_path: Path) -> None:
    done, teardown = _teardown_seen(tmp_path, ["--version"])
    assert done.returncode == 0 and done.stdout.strip()
    assert teardown


@pytest.mark.network
def test_a_receiver_skips_the_teardown(tmp_path: Path) -> None:
    done, teardown = _teardown_seen(tmp_path, _closed_recv_argv(tmp_path))
    assert done.returncode == 1 and json.loads(done.stdout)["error"]["kind"] == "connect-failed"
    assert not teardown


def test_the_console_script_runs_the_program_entry() -> None:
    import tomllib

    project = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())
    module, _, name = project["project"]["scripts"]["smocast"].partition(":")
    assert (module, name) == ("smocast.cli.main", "run")


def test_imports_run_with_the_collector_paused_and_its_state_comes_back() -> None:
    import gc

    from smocast.cli.common import load, paused_gc

    assert gc.isenabled()
    with paused_gc():
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        assert load("smocast.cli.units").__name__ == "smocast.cli.units"
        assert not gc.isenabled()  # a paused collector stays paused
    finally:
        gc.enable()
    with pytest.raises(ModuleNotFoundError), paused_gc():
        load("smocast.no_such_module")
    assert gc.isenabled()
    assert gc.get_freeze_count() == 0  # a caller of main() in its own process freezes nothing


def test_the_program_freezes_what_its_imports_made_and_the_collector_resumes() -> None:
    modules = modules_after(
        "import gc\n"
        "from smocast.cli.common import freeze_imports, load\n"
        "load('smocast.cli.units')\n"
        "assert gc.get_freeze_count() == 0\n"
        "freeze_imports()\n"
        "load('smocast.core.ranges')\n"
        "assert gc.get_freeze_count() > 1000 and gc.isenabled()\n"
    )
    assert "smocast.core.ranges" in modules


@pytest.mark.network
def test_a_receiver_program_runs_with_its_imports_frozen(tmp_path: Path) -> None:
    """Through ``run()``: the program's entry turns the freezing on (the deferred imports are frozen)."""
    argv = ["smocast", *_closed_recv_argv(tmp_path)]
    script = (
        "import atexit, gc, sys\n"
        f"sys.argv = {argv!r}\n"
        "atexit.register(lambda: print('FROZEN', gc.get_freeze_count(), gc.isenabled()))\n"
        "from smocast.cli.main import run\n"
        "run()\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False)
    line = next(line for line in done.stdout.splitlines() if line.startswith("FROZEN"))
    count, enabled = line.split()[1:]
    assert int(count) > 10_000 and enabled == "True"
