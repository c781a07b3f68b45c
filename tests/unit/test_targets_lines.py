"""The bounded line reader: chunks in, lines and over-long-line events out."""
from hypothesis import given, settings
from hypothesis import strategies as st

from lzr.targets.lines import MAX_LINE_LENGTH, LineReader, OverlongLine, quote, split_lines


def read(chunks, max_length=MAX_LINE_LENGTH):
    return list(split_lines(chunks, max_length))


def test_lines_split_across_chunks_and_a_last_line_without_newline():
    assert read([b"ab", b"c\nde", b"f\n\ng", b"h"]) == ["abc", "def", "", "gh"]
    assert read([b"one\n"]) == ["one"]
    assert read([]) == [] and read([b""]) == []


def test_undecodable_bytes_become_replacement_characters():
    assert read([b"\xff\xfe x\n\xc3", b"\xa9\n"]) == ["\ufffd\ufffd x", "\u00e9"]


def test_a_64_mb_line_without_newline_is_counted_not_assembled():
    reader = LineReader()
    chunk = b"7" * (1 << 16)
    out = reader.feed(b"192.0.2.1;80\n" + chunk)
    held = []
    for _ in range(1023):          # 64 MiB in all, in the chunks os.read hands over
        out += reader.feed(chunk)
        held.append(reader._held)
    out += reader.feed(b"\n192.0.2.2;80")
    out += reader.end()
    assert out == ["192.0.2.1;80", OverlongLine(64 << 20, "7" * 100), "192.0.2.2;80"]
    assert max(held) <= MAX_LINE_LENGTH, "the reader kept more than one line's bound"


def test_the_bound_is_inclusive_and_applies_inside_one_chunk():
    exact, over = b"x" * 10, b"y" * 11
    assert read([exact + b"\n" + over + b"\n" + exact], max_length=10) == [
        "x" * 10, OverlongLine(11, "y" * 11), "x" * 10]
    assert read([b"z" * 7, b"z" * 7], max_length=10) == [OverlongLine(14, "z" * 14)]


def test_an_overlong_line_quotes_its_start_only():
    [line] = read([b"\xc3\xa9" * 100_000])
    assert line.length == 200_000 and line.head == "\u00e9" * 100
    assert "200,000 bytes" in line.reason and "65,536" in line.reason


def test_quote_cuts_long_text():
    assert quote("short") == "'short'"
    quoted = quote("a" * 10_000)
    assert quoted.startswith("'" + "a" * 100 + "'") and "10,000 characters" in quoted
    assert len(quoted) < 140


@settings(deadline=None)
@given(st.lists(st.binary(max_size=40), max_size=12), st.integers(1, 30))
def test_any_chunking_gives_the_lines_of_the_whole(chunks, max_length):
    whole = b"".join(chunks)
    expected = []
    if whole:
        pieces = whole.split(b"\n")
        if pieces[-1] == b"":
            pieces.pop()
        for piece in pieces:
            text = piece.decode("utf-8", errors="replace")
            expected.append(text if len(piece) <= max_length else ("over", len(piece)))
    got = [(("over", line.length) if isinstance(line, OverlongLine) else line)
           for line in read(chunks, max_length)]
    assert got == expected
