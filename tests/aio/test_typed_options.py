"""The public API's keyword options are typed: one TypedDict entry per config field, no more, no less."""

from __future__ import annotations

import dataclasses

import pytest

from smocast.aio.options import ChannelOptions, ReceiverOptions, channel_config, receiver_config
from smocast.core.errors import ConfigError
from smocast.smo.config import ChannelConfig, DropRules, ReceiverConfig


def fields(cls: type) -> set[str]:
    return {f.name for f in dataclasses.fields(cls)}


def test_every_channel_and_drop_rule_field_is_a_typed_keyword() -> None:
    assert set(ChannelOptions.__annotations__) == fields(ChannelConfig) | fields(DropRules) | {"policy", "ack_every"}


def test_every_receiver_field_is_a_typed_keyword() -> None:
    assert set(ReceiverOptions.__annotations__) == fields(ReceiverConfig) | {"timeout"}


def test_keywords_apply_and_strings_parse() -> None:
    config = channel_config(min_receivers=3, policy="quorum:0.9", cwnd_policy="fair:1,4", progress_timeout=5.0)
    assert (config.min_receivers, str(config.window_policy), str(config.cwnd_policy)) == (3, "quorum:0.9", "fair:1,4")
    assert config.drop_rules.progress_timeout == 5.0
    assert receiver_config(timeout=2.5).connect_timeout == 2.5


def test_an_unknown_keyword_from_an_untyped_caller_names_the_known_ones() -> None:
    untyped: dict[str, object] = {"min_receiver": 3}
    with pytest.raises(ConfigError, match=r"unknown channel option 'min_receiver'.*min_receivers"):
        channel_config(**untyped)  # type: ignore[arg-type]
