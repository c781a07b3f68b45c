"""Hypothesis fuzzing of every input parser: whatever the input, no exception escapes.

Each line parser yields targets or LineErrors (numbered within the input); the option parsers
raise only TargetSpecError, the checkpoint reader only CheckpointError. The inputs mix text
that looks like each format with numbers past Python's 4,300-digit conversion limit, lines
too long to read, and arbitrary characters.
"""
from hypothesis import given, settings
from hypothesis import strategies as st

from lzr.targets import (
    Checkpoint, CheckpointError, LineError, OverlongLine, SynAck, Target, TargetSpecError,
    parse_network, parse_network_lines, parse_networks, parse_ports, parse_target_list,
    parse_zmap, parse_zmap_csv, parse_zmap_dryrun, parse_zmap_json, split_lines,
)

HUGE_NUMBERS = st.sampled_from(["1" * 4301, "-" + "9" * 5000, "0" * 6000 + "80", "1" * 25,
                                "18446744073709551616", "4294967296", "65536", "0", "-1"])
TOKENS = st.one_of(HUGE_NUMBERS, st.sampled_from([
    '{', '}', '"saddr"', '"daddr"', '"sport"', '"dport"', '"seqnum"', '"acknum"', '"window"',
    '"ttl"', ':', ',', '"192.0.2.1"', '"2001:db8::1"', 'true', 'null', '1e5', '[', ']', ';',
    '[::1]', '80', '#', ' ', '\t', '\r', 'dest:', 'daddr:', '----------', '|', '2001:db8::1',
    '192.0.2.1', '/', '/24', '/129', 'saddr,daddr,sport,dport,seqnum,acknum,window', '"',
    '\ufffd', '\x00', 'lzr_checkpoint', '"position"']))
ADDRESSES = st.sampled_from(["192.0.2.1", "2001:db8::1", "[2001:db8::1]", "10.1", "", "x"])
NUMBERS = st.one_of(HUGE_NUMBERS, st.integers(-70000, 70000).map(str))
# Lines shaped like each format, with any of the numbers where a number belongs.
SHAPED = st.one_of(
    st.builds("{}{}{}".format, ADDRESSES, st.sampled_from([";", ":", "/", " "]), NUMBERS),
    st.lists(st.one_of(ADDRESSES, NUMBERS), min_size=7, max_size=8).map(",".join),
    st.builds("tcp {{ source: 1 | dest: {} }}".format, NUMBERS),
    st.builds("ip {{ saddr: 10.0.0.1 | daddr: {} }}".format, ADDRESSES),
    st.just("saddr,daddr,sport,dport,seqnum,acknum,window"),
    st.just("-" * 20),
)
LINE = st.one_of(
    SHAPED,
    st.lists(TOKENS, max_size=16).map("".join),
    st.text(max_size=60),                                       # any character, surrogates too
    st.builds(OverlongLine, st.integers(65537, 1 << 40), st.text(max_size=100)),
)
LINES = st.lists(LINE, max_size=10)
LINE_PARSERS = (parse_zmap, parse_zmap_json, parse_zmap_csv, parse_target_list,
                parse_zmap_dryrun, parse_network_lines)


@settings(deadline=None, max_examples=400)
@given(LINES)
def test_line_parsers_never_raise(lines):
    for parser in LINE_PARSERS:
        for result in parser(lines):
            assert isinstance(result, (Target, SynAck, LineError, tuple))
            if isinstance(result, LineError):
                assert 1 <= result.line_number <= len(lines)
                assert len(str(result)) < 400, "an error message quotes at most 100 characters"


@settings(deadline=None, max_examples=200)
@given(st.lists(st.binary(max_size=200), max_size=8), st.integers(1, 64))
def test_parsers_behind_the_line_reader_never_raise(chunks, max_length):
    lines = list(split_lines(chunks, max_length))
    for parser in LINE_PARSERS:
        assert all(isinstance(result, (Target, SynAck, LineError, tuple))
                   for result in parser(lines))


@settings(deadline=None, max_examples=300)
@given(st.lists(TOKENS, max_size=12).map("".join) | st.text(max_size=40))
def test_option_parsers_raise_only_target_spec_errors(text):
    for parser in (parse_network, parse_networks, parse_ports):
        try:
            parser(text)
        except TargetSpecError:
            pass


@settings(deadline=None, max_examples=300)
@given(st.one_of(
    st.lists(TOKENS, max_size=20).map("".join),
    st.dictionaries(st.sampled_from(["lzr_checkpoint", "seed", "shards", "shard", "space",
                                     "position", "handed"]),
                    st.one_of(st.integers(), st.text(max_size=5), st.booleans(), st.none(),
                              HUGE_NUMBERS)).map(lambda d: str(d).replace("'", '"'))))
def test_checkpoint_reader_raises_only_checkpoint_errors(text):
    try:
        Checkpoint.from_json(text)
    except CheckpointError:
        pass
