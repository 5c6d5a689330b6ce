"""``smocast bench failures``: it kills the real commands and reports what each side noticed.

Behaviour only (the reason, the exit code, the others completing); no test here looks at a time.
"""

from __future__ import annotations

import json

import pytest

from smocast.aio.sockets import loopback_multicast_works
from smocast.cli.main import main

needs_multicast = pytest.mark.skipif(not loopback_multicast_works(), reason="multicast on 127.0.0.1 does not work")


@pytest.mark.parametrize(
    ("argv", "message"), [(["--case", "dead-host"], "choose from"), (["--receivers", "1"], "at least 2")]
)
def test_bad_settings_are_usage_errors(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "failures", *argv]) == 2
    assert message in capsys.readouterr().err


@pytest.mark.network
@needs_multicast
def test_a_small_run_reports_both_cases(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "failures", "--repeat", "1", "--size", "30M", "--receivers", "2"]) == 0
    report = json.loads(capsys.readouterr().out)
    (source,) = report["dead-source"]["this"]["runs"]
    assert source["exit_code"] == 1 and "nothing heard from the source" in source["error"]
    (receiver,) = report["dead-receiver"]["this"]["runs"]
    assert receiver["reason"] == "unreachable" and receiver["others_completed"] == 1
    assert report["dead-source"]["this"]["median_s"] is not None and "baseline" not in report["dead-source"]
