"""Address helpers against the standard library's ipaddress module."""
import ipaddress

import pytest
from hypothesis import given, settings, strategies as st

from lzr.wire import exploded_ipv6, format_addr, parse_addr


@settings(max_examples=300)
@given(st.integers(0, 2**32 - 1))
def test_ipv4_round_trip(value):
    text = str(ipaddress.IPv4Address(value))
    assert parse_addr(text) == (4, value)
    assert format_addr(4, value) == text


@settings(max_examples=300)
@given(st.integers(0, 2**128 - 1) | st.integers(0, 2**48 - 1) | st.integers(0xFFFF << 32, (0xFFFF << 32) + 2**32 - 1))
def test_ipv6_round_trip_and_exploded_form(value):
    address = ipaddress.IPv6Address(value)
    text = format_addr(6, value)
    assert parse_addr(text) == (6, value)
    assert parse_addr(address.exploded) == (6, value)
    assert exploded_ipv6(value) == address.exploded
    if address.ipv4_mapped is None:
        assert text == address.compressed
    else:  # RFC 5952 §5: mapped addresses keep the dotted tail
        assert text == f"::ffff:{address.ipv4_mapped}"


@pytest.mark.parametrize("text,expected", [
    ("2001:DB8::1", "2001:db8::1"),
    ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),
    ("::0.1.0.0", "::1:0"),
    ("::ffff:192.0.2.1", "::ffff:192.0.2.1"),
])
def test_ipv6_canonical_text(text, expected):
    assert format_addr(*parse_addr(text)) == expected


def test_exploded_matches_lzr_example():
    assert exploded_ipv6(parse_addr("2001:db8::1")[1]) == "2001:0db8:0000:0000:0000:0000:0000:0001"


@pytest.mark.parametrize("text", ["", "10.1", "010.0.0.1", "1.2.3.256", "1.2.3.4.5", " 1.2.3.4", "1.2.3.4\n",
                                  "fe80::1%eth0", "2001:db8:::1", "12345::", "::g", "[::1]", "é", "1.2.3.4/32"])
def test_rejects_what_is_not_an_address(text):
    with pytest.raises(ValueError):
        parse_addr(text)
