"""The one place where the testbed runs commands: ``ip``, ``tc``, ``nft`` and helpers.

Every management command goes through :func:`run`, so a failure always becomes one
:class:`CommandFailed` naming the command and quoting its stderr. Commands meant to run
*inside* a host (the caller's programs) are built with :func:`in_namespace` and are not
checked here: their exit code belongs to the caller.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from collections.abc import Sequence

from smocast.core.errors import SmocastError

#: The commands the testbed cannot work without, and the package that provides each.
REQUIRED_TOOLS = {"ip": "iproute2", "bridge": "iproute2", "tc": "iproute2", "nft": "nftables"}

#: Seconds any single management command may take before it counts as failed.
COMMAND_TIMEOUT = 30.0


class TestbedError(SmocastError):
    """The testbed could not do what was asked; the message says what and how to fix it."""

    __test__ = False  # not a pytest test class, despite the name


class TestbedUnavailable(TestbedError):
    """This machine cannot run the testbed (not root, or a tool is missing). Nothing was changed."""


class CommandFailed(TestbedError):
    """A management command failed. ``argv``, ``returncode`` and ``stderr`` say which and why."""

    def __init__(self, argv: Sequence[str], returncode: int, stderr: str) -> None:
        self.argv = list(argv)
        self.returncode = returncode
        self.stderr = stderr.strip()
        detail = self.stderr.splitlines()[-1] if self.stderr else "no error output"
        super().__init__(f"`{shlex.join(self.argv)}` failed with exit code {returncode}: {detail}")


def check_prerequisites() -> None:
    """Raise :class:`TestbedUnavailable` unless we are root and every required tool is on PATH.

    Call it before changing anything; it runs no command itself.
    """
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        raise TestbedUnavailable("smocast testbed needs root to create network namespaces")
    for tool, package in REQUIRED_TOOLS.items():
        if shutil.which(tool) is None:
            raise TestbedUnavailable(f"smocast testbed needs the '{tool}' command: install {package}")


def run(argv: Sequence[str], *, stdin: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run one management command and return its result (text stdout and stderr).

    With ``check`` (the default) a non-zero exit raises :class:`CommandFailed`; without it the
    caller must look at ``returncode``. A command that does not exist or hangs also raises it.
    """
    try:
        result = subprocess.run(
            list(argv), input=stdin, capture_output=True, text=True, timeout=COMMAND_TIMEOUT, check=False
        )
    except FileNotFoundError:
        raise CommandFailed(argv, 127, f"command not found: {argv[0]}") from None
    except subprocess.TimeoutExpired:
        raise CommandFailed(argv, -1, f"timed out after {COMMAND_TIMEOUT:.0f} s") from None
    if check and result.returncode != 0:
        raise CommandFailed(argv, result.returncode, result.stderr or result.stdout)
    return result


def in_namespace(namespace: str, argv: Sequence[str]) -> list[str]:
    """The argv that runs ``argv`` inside ``namespace``; pass it to :func:`run` or subprocess."""
    return ["ip", "netns", "exec", namespace, *argv]


def ip_batch(namespace: str, lines: Sequence[str]) -> None:
    """Run several ``ip`` commands (one per line, without the leading ``ip``) inside ``namespace``.

    One process for many commands keeps ``up`` fast; a failing line raises :class:`CommandFailed`
    whose stderr names the line number.
    """
    if lines:
        run(["ip", "-n", namespace, "-batch", "-"], stdin="\n".join(lines) + "\n")


def nft_apply(namespace: str, ruleset: str) -> None:
    """Load an nftables script into ``namespace`` in one atomic transaction."""
    run(in_namespace(namespace, ["nft", "-f", "-"]), stdin=ruleset)


_SYSCTL_SCRIPT = 'while [ $# -gt 1 ]; do printf %s "$2" > "/proc/sys/$1" || exit 1; shift 2; done'


def write_sysctls(namespace: str, settings: dict[str, str]) -> None:
    """Set kernel parameters (``net.ipv4.conf.eth0.force_igmp_version`` style keys) in ``namespace``.

    The values are written under /proc/sys by a shell inside the namespace (one process for
    all of them, no ``sysctl`` command needed), so the root namespace is never touched.
    """
    args = [part for key, value in settings.items() for part in (key.replace(".", "/"), value)]
    run(in_namespace(namespace, ["sh", "-c", _SYSCTL_SCRIPT, "sh", *args]))
