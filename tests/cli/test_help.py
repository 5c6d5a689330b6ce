"""Every command's ``--help`` teaches: a description with examples, help on every option, defaults as typed."""

from __future__ import annotations

import argparse
import re

import pytest

from smocast.cli.common import HelpFormatter, all_parsers, duration_arg, leaf_parsers, size_arg
from smocast.cli.main import build_parser, main

PARSER = build_parser([])
PAGES = list(all_parsers(PARSER))
TIME_WORDS = re.compile(r"(time|timeout|delay|duration|wait|interval|_at$|per_packet|limit$)")
NOT_TIMES = {"time_limit_packets"}


def options_of(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    return [a for a in parser._actions if not isinstance(a, argparse._HelpAction | argparse._SubParsersAction)]


def test_every_command_group_and_sub_command_is_walked() -> None:
    progs = {p.prog for p in PAGES}
    for expected in ("smocast sim", "smocast bench", "smocast model", "smocast bench ack", "smocast bench sim"):
        assert expected in progs
    assert len(list(leaf_parsers(PARSER))) >= 20


@pytest.mark.parametrize("parser", PAGES, ids=[p.prog for p in PAGES])
def test_the_help_page_has_a_description_and_examples(parser: argparse.ArgumentParser) -> None:
    assert parser.description and len(parser.description) > 60, parser.prog
    assert "example" in parser.description.lower(), f"{parser.prog}: no examples"
    assert isinstance(parser.formatter_class, type) and issubclass(parser.formatter_class, HelpFormatter)


@pytest.mark.parametrize("parser", PAGES, ids=[p.prog for p in PAGES])
def test_every_option_has_help(parser: argparse.ArgumentParser) -> None:
    missing = [a.option_strings or a.dest for a in options_of(parser) if not a.help]
    assert missing == [], f"{parser.prog}: options without help: {missing}"


@pytest.mark.parametrize("parser", PAGES, ids=[p.prog for p in PAGES])
def test_defaults_read_as_a_user_types_them(parser: argparse.ArgumentParser) -> None:
    text = parser.format_help()
    assert "(default: [" not in text and "(default: (" not in text, f"{parser.prog} shows a Python list"
    for action in options_of(parser):
        if action.type is size_arg and action.default is not None:
            assert isinstance(action.default, str), f"{parser.prog} {action.dest}: a raw byte count"
        if isinstance(action.default, int) and not isinstance(action.default, bool):
            assert action.default < 1 << 20 or action.dest.startswith("max"), f"{parser.prog} {action.dest}"


@pytest.mark.parametrize("parser", PAGES, ids=[p.prog for p in PAGES])
def test_every_duration_takes_units(parser: argparse.ArgumentParser) -> None:
    for action in options_of(parser):
        if TIME_WORDS.search(action.dest) and action.dest not in NOT_TIMES and action.type is not None:
            assert action.type is duration_arg, f"{parser.prog} {action.option_strings}: takes no units"


def test_demo_takes_a_timeout_with_units() -> None:
    args = PARSER.parse_args(["demo", "--timeout", "30s"])
    assert args.timeout == 30.0
    assert PARSER.parse_args(["demo", "--timeout", "2min"]).timeout == 120.0


def test_the_pages_print(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["--help"], ["sim", "--help"], ["bench", "ack", "--help"], ["model", "--help"]):
        with pytest.raises(SystemExit) as info:
            main(argv)
        assert info.value.code == 0
        assert "examples:" in capsys.readouterr().out


def test_written_out_defaults_match_the_library() -> None:
    """Parsers spell some defaults out (so that they load nothing); the library's values agree."""
    from smocast.aio.relay import DEFAULT_HISTORY, DEFAULT_SOURCE_TIMEOUT
    from smocast.apps.stream import HEADER_SIZE
    from smocast.classes.build import CLASS_NAMES
    from smocast.cli import relay_cmd, sim_classes_args, stream_cmd, testbed_cmd
    from smocast.core.units import parse_duration, parse_size
    from smocast.testbed import DEFAULT_PREFIX

    assert parse_size(relay_cmd.DEFAULT_HISTORY) == DEFAULT_HISTORY
    assert parse_duration(relay_cmd.DEFAULT_SOURCE_TIMEOUT) == DEFAULT_SOURCE_TIMEOUT
    assert stream_cmd.HEADER_SIZE == HEADER_SIZE
    assert ",".join(CLASS_NAMES) == sim_classes_args.ALL_CLASSES
    assert testbed_cmd.DEFAULT_PREFIX == DEFAULT_PREFIX
