"""Addresses of both IP families: parsing, printing, SSM ranges, zones, interfaces."""

from __future__ import annotations

import socket

import pytest

from smocast.aio.netaddr import (
    canonical,
    check_group,
    find_interface,
    format_address,
    interface_for,
    is_ssm,
    sockaddr,
)
from smocast.aio.options import parse_address
from smocast.core.errors import ConfigError


@pytest.mark.parametrize(
    "text, address",
    [
        ("232.1.1.1:5000", ("232.1.1.1", 5000)),
        ("[ff3e::1234]:5000", ("ff3e::1234", 5000)),
        ("[fe80::1%eth0]:7", ("fe80::1%eth0", 7)),
        ("[::]:5000", ("::", 5000)),
        (":5000", ("0.0.0.0", 5000)),
    ],
)
def test_addresses_parse_and_print_back(text: str, address: tuple[str, int]) -> None:
    assert parse_address(text, "x") == address
    if address[0] != "0.0.0.0":
        assert format_address(address) == text


@pytest.mark.parametrize(
    "text, message",
    [
        ("ff3e::1:5000", r"in brackets, \[ff3e::1\]:5000"),
        ("[ff3e::1]5000", r"\[IPV6\]:PORT"),
        ("[ff3e::1:5000", r"\[IPV6\]:PORT"),
        ("host", "HOST:PORT"),
    ],
)
def test_bad_addresses_say_how_to_write_them(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_address(text, "x")


@pytest.mark.parametrize(
    "group, ssm",
    [
        ("232.1.1.1", True),
        ("239.1.1.1", False),
        ("ff3e::1234", True),
        ("ff32::1", True),
        ("ff3e:0:0:0:0:1::1", False),  # not in ff3x::/96
        ("ff15::1", False),
        ("ff02::1", False),
    ],
)
def test_ssm_ranges_of_both_families(group: str, ssm: bool) -> None:
    check_group((group, 5000))
    assert is_ssm(group) is ssm


@pytest.mark.parametrize("group", ["10.0.0.1", "2001:db8::1", "fe80::1", "example.com"])
def test_a_group_must_be_multicast(group: str) -> None:
    with pytest.raises(ConfigError, match="multicast address"):
        check_group((group, 5000))


def test_the_kernels_ipv6_form_carries_its_zone_both_ways() -> None:
    lo = socket.if_nametoindex("lo")
    assert canonical(("fe80::1", 5000, 0, lo)) == ("fe80::1%lo", 5000)
    assert canonical(("2001:db8::1", 5000, 0, 0)) == ("2001:db8::1", 5000)
    assert canonical(("10.0.0.1", 5000)) == ("10.0.0.1", 5000)
    assert sockaddr(("fe80::1%lo", 5000)) == ("fe80::1", 5000, 0, lo)
    assert sockaddr(("10.0.0.1", 5000)) == ("10.0.0.1", 5000)
    with pytest.raises(ConfigError, match="no interface named"):
        sockaddr(("fe80::1%nosuch0", 5000))


def test_interfaces_by_name_or_by_an_address_of_either_family() -> None:
    lo = find_interface("lo")
    assert find_interface("127.0.0.1") == lo
    assert interface_for("lo", socket.AF_INET) == (lo, "127.0.0.1")
    if "::1" in lo.ipv6:
        assert find_interface("::1") == lo
        assert interface_for("lo", socket.AF_INET6) == (lo, "::1")
    with pytest.raises(ConfigError, match="no interface named 'eth9'"):
        find_interface("eth9")
    with pytest.raises(ConfigError, match="no interface of this host has the address"):
        find_interface("192.0.2.254")
