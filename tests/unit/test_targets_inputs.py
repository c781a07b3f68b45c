"""Line parsers: ZMap JSON and CSV, -sendSYNs lists, zmap --dryrun text."""
import ipaddress
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lzr.targets import (
    LineError, SynAck, Target, parse_target_list, parse_zmap, parse_zmap_csv, parse_zmap_dryrun,
    parse_zmap_json,
)
from lzr.targets.lines import OverlongLine


def v4(text: str) -> int:
    return int(ipaddress.IPv4Address(text))


def v6(text: str) -> int:
    return int(ipaddress.IPv6Address(text))


ZMAP_LINE = ('{"saddr":"192.0.2.7","daddr":"198.51.100.1","sport":8080,"dport":40000,'
             '"seqnum":-559038737,"acknum":305419897,"window":65535}')
ZMAP_TARGET = SynAck(4, v4("192.0.2.7"), v4("198.51.100.1"), 8080, 40000,
                           0xDEADBEEF, 305419897, 65535, 0)


def test_zmap_json_signed_seqnum_becomes_unsigned():
    assert list(parse_zmap_json([ZMAP_LINE])) == [ZMAP_TARGET]


def test_zmap_json_unsigned_and_ttl_and_extra_keys():
    line = ('{"saddr":"192.0.2.7","daddr":"198.51.100.1","sport":8080,"dport":40000,'
            '"seqnum":3735928559,"acknum":305419897,"window":65535,"ttl":57,'
            '"classification":"synack","success":true}\r\n')
    assert list(parse_zmap_json([line])) == [ZMAP_TARGET._replace(ttl=57)]


def test_zmap_json_keys_are_case_insensitive_last_wins():
    line = ('{"SADDR":"192.0.2.9","Saddr":"192.0.2.7","DAddr":"198.51.100.1","SPort":8080,'
            '"dPort":40000,"SeqNum":-559038737,"AckNum":305419897,"WINDOW":65535}')
    assert list(parse_zmap_json([line])) == [ZMAP_TARGET]


def test_zmap_json_ipv6_is_normalised():
    compressed = ('{"saddr":"2001:db8::7","daddr":"2001:db8::1","sport":443,"dport":40000,'
                  '"seqnum":1,"acknum":2,"window":512}')
    exploded = compressed.replace("2001:db8::7", "2001:0DB8:0000:0000:0000:0000:0000:0007")
    first, second = list(parse_zmap_json([compressed, exploded]))
    assert first == second
    assert first.version == 6 and first.saddr == v6("2001:db8::7")


@pytest.mark.parametrize("line, reason", [
    ("{not json", "not valid JSON"),
    ("[1, 2]", "not a JSON object"),
    ('{"saddr":"192.0.2.7"}', "missing daddr, sport, dport, seqnum, acknum, window"),
    (ZMAP_LINE.replace('"sport":8080', '"sport":"8080"'), "sport is not an integer"),
    (ZMAP_LINE.replace('"sport":8080', '"sport":8080.0'), "sport is not an integer"),
    (ZMAP_LINE.replace('"sport":8080', '"sport":true'), "sport is not an integer"),
    (ZMAP_LINE.replace('"sport":8080', '"sport":70000'), "sport 70000 outside 1..65535"),
    (ZMAP_LINE.replace('"sport":8080', '"sport":0'), "sport 0 outside 1..65535"),
    (ZMAP_LINE.replace('"dport":40000', '"dport":0'), "dport 0 outside 1..65535"),
    (ZMAP_LINE.replace('"sport":8080', '"sport":' + "9" * 4000), "sport of 4,000 digits outside"),
    (ZMAP_LINE.replace('"sport":8080', '"sport":' + "9" * 4301), "not valid JSON"),
    (ZMAP_LINE.replace("-559038737", "4294967296"), "seqnum 4294967296 outside"),
    (ZMAP_LINE.replace("-559038737", "-2147483649"), "seqnum -2147483649 outside"),
    (ZMAP_LINE.replace("192.0.2.7", "192.0.2.300"), "saddr is not an IP address"),
    (ZMAP_LINE.replace('"192.0.2.7"', "7"), "saddr is not a string"),
    (ZMAP_LINE.replace("198.51.100.1", "2001:db8::1"),
     "saddr and daddr are of different IP versions"),
])
def test_zmap_json_bad_lines(line, reason):
    [error] = parse_zmap_json([line])
    assert isinstance(error, LineError)
    assert error.line_number == 1 and error.line == line
    assert error.reason.startswith(reason)


def test_zmap_json_line_numbers_count_blank_lines():
    results = list(parse_zmap_json([ZMAP_LINE + "\n", "\n", "garbage\n", ZMAP_LINE + "\r\n"]))
    assert results[0] == ZMAP_TARGET and results[2] == ZMAP_TARGET
    assert results[1] == LineError(3, "garbage", "not valid JSON")


ZMAP_CSV = [
    "saddr,daddr,sport,dport,seqnum,acknum,window\r\n",
    "192.0.2.7,198.51.100.1,8080,40000,3735928559,305419897,65535\r\n",
    "\r\n",
    "192.0.2.7,198.51.100.1,8080,40000,-559038737,305419897,65535\r\n",
]


def test_zmap_csv():
    assert list(parse_zmap_csv(ZMAP_CSV)) == [ZMAP_TARGET, ZMAP_TARGET]


def test_zmap_csv_any_column_order_extra_columns_and_ttl():
    lines = ["window,TTL,acknum,classification,seqnum,dport,sport,daddr,saddr",
             "65535,57,305419897,synack,3735928559,40000,8080,198.51.100.1,192.0.2.7"]
    assert list(parse_zmap_csv(lines)) == [ZMAP_TARGET._replace(ttl=57)]


def test_zmap_csv_bad_rows():
    lines = ZMAP_CSV[:1] + [
        "192.0.2.7,198.51.100.1,8080,40000,3735928559,305419897\n",
        "192.0.2.7,198.51.100.1,80a,40000,3735928559,305419897,65535\n",
        "192.0.2.7,198.51.100.1,8080,40000,3735928559,305419897,65536\n",
    ]
    errors = list(parse_zmap_csv(lines))
    assert [e.line_number for e in errors] == [2, 3, 4]
    assert errors[0].reason == "6 columns where the header has 7"
    assert errors[1].reason == "sport is not a decimal integer"
    assert errors[2].reason == "window 65536 outside 0..65535"


def test_zmap_csv_without_header_reports_every_line():
    lines = ZMAP_CSV[1:2] * 3
    errors = list(parse_zmap_csv(lines))
    assert [e.line_number for e in errors] == [1, 2, 3]
    assert all(e.reason.startswith("no ZMap CSV header before this line") for e in errors)


def test_zmap_csv_junk_before_the_header_and_repeated_headers():
    lines = ["zmap: some log line\n"] + ZMAP_CSV + ZMAP_CSV
    results = list(parse_zmap_csv(lines))
    assert results[0].line_number == 1 and isinstance(results[0], LineError)
    assert results[1:] == [ZMAP_TARGET] * 4


def test_target_list_forms():
    lines = [
        "192.0.2.7;80\n",
        "192.0.2.8:8080\r\n",
        "# a comment\n",
        "   \n",
        "2001:db8::7;443  # web\n",
        "[2001:db8::8]:22\n",
        " 192.0.2.9 ; 21 \n",
        "[192.0.2.10]:23\n",
    ]
    assert list(parse_target_list(lines)) == [
        Target(4, v4("192.0.2.7"), 80),
        Target(4, v4("192.0.2.8"), 8080),
        Target(6, v6("2001:db8::7"), 443),
        Target(6, v6("2001:db8::8"), 22),
        Target(4, v4("192.0.2.9"), 21),
        Target(4, v4("192.0.2.10"), 23),
    ]


@pytest.mark.parametrize("line, reason", [
    ("192.0.2.7", "expected IP;PORT, IP:PORT or [IPv6]:PORT"),
    ("2001:db8::7:443", "IPv6 targets are written ADDR;PORT or [ADDR]:PORT"),
    ("192.0.2.7;80;90", "more than one ';'"),
    ("192.0.2.7;http", "port is not a decimal integer"),
    ("192.0.2.7;0", "port 0 outside 1..65535"),
    ("192.0.2.7;65536", "port 65536 outside 1..65535"),
    ("192.0.2;80", "address is not an IP address"),
    ("[2001:db8::zz]:80", "address is not an IP address"),
    ("example.com:80", "address is not an IP address"),
    ("192.0.2.7;٨٠", "port is not a decimal integer"),
])
def test_target_list_bad_lines(line, reason):
    good, error = parse_target_list(["192.0.2.1;1", line])
    assert good == Target(4, v4("192.0.2.1"), 1)
    assert error == LineError(2, line, reason)


def test_target_list_bad_line_keeps_going():
    results = list(parse_target_list(["bad\n", "192.0.2.7;80\n"]))
    assert results == [LineError(1, "bad", "expected IP;PORT, IP:PORT or [IPv6]:PORT"),
                       Target(4, v4("192.0.2.7"), 80)]


DRYRUN_TCP_FIRST = """\
tcp { source: 40000 | dest: 80 | seq: 12345 | checksum: 0X1A2B }
ip { saddr: 10.0.0.1 | daddr: 192.0.2.7 | checksum: 0X3C4D }
eth { shost: 02:00:00:00:00:01 | dhost: 02:00:00:00:00:02 }
------------------------------------------------------
tcp { source: 40001 | dest: 443 | seq: 999 | checksum: 0X1A2C }
ip { saddr: 10.0.0.1 | daddr: 192.0.2.8 | checksum: 0X3C4E }
eth { shost: 02:00:00:00:00:01 | dhost: 02:00:00:00:00:02 }
------------------------------------------------------
"""


def test_dryrun_pairs_each_packets_own_address_and_port():
    assert list(parse_zmap_dryrun(DRYRUN_TCP_FIRST.splitlines(keepends=True))) == [
        Target(4, v4("192.0.2.7"), 80), Target(4, v4("192.0.2.8"), 443)]


def test_dryrun_ip_line_first_and_no_separators():
    text = ("ip { saddr: 10.0.0.1 | daddr: 192.0.2.7 | checksum: 0X3C4D }\n"
            "tcp { source: 40000 | dest: 80 | seq: 1 | checksum: 0X1A2B }\n"
            "ip { saddr: 10.0.0.1 | daddr: 192.0.2.8 | checksum: 0X3C4D }\n"
            "tcp { source: 40000 | dest: 81 | seq: 1 | checksum: 0X1A2B }\n")
    assert list(parse_zmap_dryrun(text.splitlines())) == [
        Target(4, v4("192.0.2.7"), 80), Target(4, v4("192.0.2.8"), 81)]


def test_dryrun_incomplete_block_is_an_error_at_its_first_line():
    text = ("Nov 25 12:00:00.000 [INFO] zmap: output module: csv\n"
            "tcp { source: 40000 | dest: 80 | seq: 1 | checksum: 0X1A2B }\n"
            "eth { shost: 02:00:00:00:00:01 | dhost: 02:00:00:00:00:02 }\n"
            "------------------------------------------------------\n"
            "tcp { source: 40000 | dest: 81 | seq: 1 | checksum: 0X1A2B }\n"
            "ip6 { saddr: 2001:db8::1 | daddr: 2001:db8::9 }\n")
    assert list(parse_zmap_dryrun(text.splitlines())) == [
        LineError(2, "tcp { source: 40000 | dest: 80 | seq: 1 | checksum: 0X1A2B }",
                  "probe without daddr"),
        Target(6, v6("2001:db8::9"), 81),
    ]


HUGE = "1" * 4301          # one digit past Python's limit for converting decimal text


def test_a_4301_digit_port_is_a_malformed_line_in_every_format():
    good = "192.0.2.7;80"
    assert list(parse_target_list([f"192.0.2.7;{HUGE}", good])) == [
        LineError(1, f"192.0.2.7;{HUGE}", "port of 4,301 digits is out of range"),
        Target(4, v4("192.0.2.7"), 80)]
    csv_rows = [ZMAP_CSV[0], ZMAP_CSV[1].replace("8080", HUGE), ZMAP_CSV[1]]
    first, second = parse_zmap_csv(csv_rows)
    assert first.line_number == 2 and first.reason == "sport of 4,301 digits is out of range"
    assert second == ZMAP_TARGET
    dryrun = DRYRUN_TCP_FIRST.replace("dest: 80 ", f"dest: {HUGE} ")
    first, second = parse_zmap_dryrun(dryrun.splitlines())
    assert first.line_number == 1 and first.reason == "port of 4,301 digits is out of range"
    assert second == Target(4, v4("192.0.2.8"), 443)
    # Leading zeros are no reason to refuse a number.
    assert list(parse_target_list(["192.0.2.7;" + "0" * 5000 + "80"])) == [
        Target(4, v4("192.0.2.7"), 80)]


def test_error_messages_quote_at_most_100_characters():
    [error] = parse_target_list(["x" * 100_000])
    assert len(str(error)) < 250 and "100,000 characters" in str(error)


def test_an_overlong_line_is_a_numbered_error_in_every_parser():
    overlong = OverlongLine(1 << 26, "7777")
    for parser, good, expected in (
            (parse_target_list, "192.0.2.7;80", Target(4, v4("192.0.2.7"), 80)),
            (parse_zmap_json, ZMAP_LINE, ZMAP_TARGET),
            (parse_zmap, ZMAP_LINE, ZMAP_TARGET)):
        assert list(parser([overlong, good])) == [LineError(1, "7777", overlong.reason), expected]
    assert list(parse_zmap_csv([ZMAP_CSV[0], overlong, ZMAP_CSV[1]])) == [
        LineError(2, "7777", overlong.reason), ZMAP_TARGET]
    lines = DRYRUN_TCP_FIRST.splitlines()
    assert list(parse_zmap_dryrun(lines[:1] + [overlong] + lines[1:]))[:2] == [
        LineError(2, "7777", overlong.reason), Target(4, v4("192.0.2.7"), 80)]


def test_zmap_format_is_decided_per_line():
    junk_first = ["this is not zmap output"] + [ZMAP_LINE] * 100
    results = list(parse_zmap(junk_first))
    assert [type(r) for r in results] == [LineError] + [SynAck] * 100
    assert results[0].line_number == 1
    mixed = [ZMAP_LINE, ZMAP_CSV[0], ZMAP_CSV[1], "{broken", ZMAP_LINE]
    results = list(parse_zmap(mixed))
    assert results[:2] == [ZMAP_TARGET, ZMAP_TARGET] and results[3] == ZMAP_TARGET
    assert results[2].line_number == 4 and results[2].reason == "not valid JSON"


line_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=80)
zmapish = st.lists(st.sampled_from(
    ['{', '}', '"saddr"', '"sport"', ':', ',', '"192.0.2.1"', '-1', '65535', '4294967295',
     '"SeqNum"', 'true', 'null', '1e5', '[', ']', ';', '[::1]', '80', '#', ' ', '\r', 'dest:',
     'daddr:', '----------', '|', '2001:db8::1', '"ttl"', '300']), max_size=20).map("".join)


@settings(deadline=None)  # a loaded CI machine must not fail a test on timing
@given(st.lists(st.one_of(line_text, zmapish), max_size=8))
def test_parsers_never_raise(lines):
    for parser in (parse_zmap_json, parse_zmap_csv, parse_target_list, parse_zmap_dryrun):
        for result in parser(lines):
            assert isinstance(result, (Target, SynAck, LineError))
            if isinstance(result, LineError):
                assert 1 <= result.line_number <= len(lines)


@settings(deadline=None)
@given(st.lists(st.one_of(line_text, zmapish), max_size=8))
def test_csv_rows_under_a_valid_header_never_raise(rows):
    for result in parse_zmap_csv([ZMAP_CSV[0]] + rows):
        assert isinstance(result, (SynAck, LineError))


zmap_key = st.sampled_from(["saddr", "daddr", "sport", "dport", "seqnum", "acknum", "window",
                            "ttl", "other"]).flatmap(
    lambda key: st.sampled_from([key, key.upper(), key.title()]))
json_value = st.one_of(st.integers(-2**33, 2**33), st.booleans(), st.none(), st.floats(),
                       st.sampled_from(["192.0.2.1", "2001:db8::1", "", "x"]))


@settings(deadline=None)
@given(st.dictionaries(zmap_key, json_value, max_size=10))
def test_zmap_json_objects_give_in_range_targets_or_errors(document):
    [result] = parse_zmap_json([json.dumps(document)])
    if isinstance(result, SynAck):
        assert 0 <= result.seq < 2**32 and 0 <= result.ack < 2**32
        assert 0 <= result.sport < 65536 and 0 <= result.window < 65536 and 0 <= result.ttl < 256
    else:
        assert isinstance(result, LineError) and result.reason
