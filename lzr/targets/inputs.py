"""Parsers for the scanner's line-oriented inputs (docs/lzr-reference.md §1.2, docs/targets.md).

Each parser takes an iterable of text lines (with or without their line endings; an
`OverlongLine` from lzr.targets.lines stands for a line too long to read) and yields, in input
order, one target per usable line or a `LineError` naming the line and the reason. They never
raise on bad input: the caller decides whether to skip, count or abort (--strict). Blank lines
are skipped everywhere. Addresses are returned as integers, so every textual form of one
address (compressed or exploded IPv6, say) becomes the same target.
"""
import csv
import json
import re
from collections.abc import Iterable, Iterator

from lzr.targets.lines import OverlongLine
from lzr.targets.types import LineError, SynAck, Target, decimal_value
from lzr.wire.addr import parse_addr

_DECIMAL = re.compile(r"-?[0-9]+", re.ASCII)
# Longer numbers (leading zeros aside) are out of every range here; Python refuses to convert
# decimal text of more than 4,300 digits, so they are rejected before conversion.
_MAX_DIGITS = 20
_ZMAP_FIELDS = ("saddr", "daddr", "sport", "dport", "seqnum", "acknum", "window")
_OPTIONAL_ZMAP_FIELDS = ("ttl",)


class _BadLine(Exception):
    """Internal: the reason a line is unusable; turned into a LineError by the parser."""


Line = str | OverlongLine


def _numbered(lines: Iterable[Line]) -> Iterator[tuple[int, Line]]:
    for number, raw in enumerate(lines, 1):
        yield number, raw if isinstance(raw, OverlongLine) else raw.rstrip("\r\n")


def _overlong(number: int, line: OverlongLine) -> LineError:
    return LineError(number, line.head, line.reason)


def _address(text: str, field: str) -> tuple[int, int]:
    try:
        return parse_addr(text.strip())
    except ValueError:
        raise _BadLine(f"{field} is not an IP address") from None


def _integer(text: str, field: str) -> int:
    text = text.strip()
    negative = text.startswith("-")
    magnitude = text[1:] if negative else text
    value = decimal_value(magnitude, _MAX_DIGITS)
    if value is None:
        if _DECIMAL.fullmatch(text):
            raise _BadLine(f"{field} of {len(magnitude.lstrip('0')):,} digits is out of range")
        raise _BadLine(f"{field} is not a decimal integer")
    return -value if negative else value


def _in_range(value: int, low: int, high: int, field: str) -> int:
    if not low <= value <= high:
        shown = value if abs(value) < 10 ** _MAX_DIGITS else f"of {len(str(abs(value))):,} digits"
        raise _BadLine(f"{field} {shown} outside {low}..{high}")
    return value


def _sequence_number(value: int, field: str) -> int:
    # ZMap's JSON module prints seqnum/acknum as signed 32-bit, its CSV module unsigned.
    return _in_range(value, -(1 << 31), (1 << 32) - 1, field) & 0xFFFFFFFF


def _synack_target(fields: dict) -> SynAck:
    """A SynAck from ZMap's field values (ints or decimal text, addresses as text)."""
    missing = [name for name in _ZMAP_FIELDS if name not in fields]
    if missing:
        raise _BadLine("missing " + ", ".join(missing))
    version, saddr = _address(fields["saddr"], "saddr")
    daddr_version, daddr = _address(fields["daddr"], "daddr")
    if daddr_version != version:
        raise _BadLine("saddr and daddr are of different IP versions")
    number = {name: fields[name] for name in _ZMAP_FIELDS[2:] + _OPTIONAL_ZMAP_FIELDS
              if name in fields}
    for name, value in number.items():
        if isinstance(value, str):
            number[name] = _integer(value, name)
    return SynAck(
        version=version, saddr=saddr, daddr=daddr,
        sport=_in_range(number["sport"], 1, 65535, "sport"),
        dport=_in_range(number["dport"], 1, 65535, "dport"),
        seq=_sequence_number(number["seqnum"], "seqnum"),
        ack=_sequence_number(number["acknum"], "acknum"),
        window=_in_range(number["window"], 0, 65535, "window"),
        ttl=_in_range(number.get("ttl", 0), 0, 255, "ttl"),
    )


def _json_fields(line: str) -> dict:
    try:
        document = json.loads(line)
    except (ValueError, RecursionError):
        raise _BadLine("not valid JSON") from None
    if not isinstance(document, dict):
        raise _BadLine("not a JSON object")
    # Go's decoder matches keys to fields case-insensitively and ignores unknown keys; a later
    # duplicate overwrites an earlier one.
    fields = {}
    for key, value in document.items():
        name = key.casefold()
        if name in ("saddr", "daddr"):
            if not isinstance(value, str):
                raise _BadLine(f"{name} is not a string")
        elif name in _ZMAP_FIELDS or name in _OPTIONAL_ZMAP_FIELDS:
            if isinstance(value, bool) or not isinstance(value, int):
                raise _BadLine(f"{name} is not an integer")
        else:
            continue
        fields[name] = value
    return fields


def _json_line(number: int, line: str) -> SynAck | LineError:
    try:
        return _synack_target(_json_fields(line))
    except _BadLine as error:
        return LineError(number, line, str(error))


def parse_zmap_json(lines: Iterable[Line]) -> Iterator[SynAck | LineError]:
    """ZMap's JSON output module, one object per line (`-O json -f saddr,daddr,...`)."""
    for number, line in _numbered(lines):
        if isinstance(line, OverlongLine):
            yield _overlong(number, line)
        elif line.strip():
            yield _json_line(number, line)


def _csv_row(line: str) -> list[str]:
    try:
        return next(csv.reader([line]))
    except (csv.Error, StopIteration):
        raise _BadLine("not a CSV row") from None


class _CsvRows:
    """ZMap's CSV output: a header line naming the fields, in any order, then rows.

    Any line that names every field is a header, the first or a repeat (each zmap run prints
    its own); a line before the first header is malformed, and the next one is tried again.
    """

    def __init__(self) -> None:
        self.columns: list[str] | None = None

    def line(self, number: int, line: str) -> SynAck | LineError | None:
        """The target of a row, a LineError, or None for a header."""
        try:
            row = _csv_row(line)
            names = [name.strip().casefold() for name in row]
            missing = [name for name in _ZMAP_FIELDS if name not in names]
            if not missing:
                self.columns = names
                return None
            if self.columns is None:
                raise _BadLine("no ZMap CSV header before this line (a header names "
                               + ", ".join(_ZMAP_FIELDS) + ")")
            if len(row) != len(self.columns):
                raise _BadLine(f"{len(row)} columns where the header has {len(self.columns)}")
            return _synack_target(dict(zip(self.columns, row)))
        except _BadLine as error:
            return LineError(number, line, str(error))


def parse_zmap_csv(lines: Iterable[Line]) -> Iterator[SynAck | LineError]:
    """ZMap's CSV output module (`-O csv`): a header line naming the fields, then rows."""
    rows = _CsvRows()
    for number, line in _numbered(lines):
        if isinstance(line, OverlongLine):
            yield _overlong(number, line)
        elif line.strip():
            result = rows.line(number, line)
            if result is not None:
                yield result


def parse_zmap(lines: Iterable[Line]) -> Iterator[SynAck | LineError]:
    """ZMap's output in either format, decided line by line: a line starting with `{` is
    JSON, any other goes to the CSV reader. So one junk line costs one malformed line."""
    rows = _CsvRows()
    for number, line in _numbered(lines):
        if isinstance(line, OverlongLine):
            yield _overlong(number, line)
        elif line.lstrip().startswith("{"):
            yield _json_line(number, line)
        elif line.strip():
            result = rows.line(number, line)
            if result is not None:
                yield result


def _port(text: str) -> int:
    return _in_range(_integer(text, "port"), 1, 65535, "port")


_BRACKETED = re.compile(r"\[([^\]]*)\]:(.*)")


def _list_target(entry: str) -> Target:
    bracketed = _BRACKETED.fullmatch(entry)
    if bracketed:
        address, port = bracketed.groups()
    elif ";" in entry:
        address, _, port = entry.partition(";")
        if ";" in port:
            raise _BadLine("more than one ';'")
    elif entry.count(":") == 1:
        address, _, port = entry.partition(":")
    elif ":" in entry:
        raise _BadLine("IPv6 targets are written ADDR;PORT or [ADDR]:PORT")
    else:
        raise _BadLine("expected IP;PORT, IP:PORT or [IPv6]:PORT")
    version, addr = _address(address, "address")
    return Target(version, addr, _port(port))


def parse_target_list(lines: Iterable[Line]) -> Iterator[Target | LineError]:
    """`-sendSYNs` input: `IP;PORT` (LZR's form), `IP:PORT` (IPv4), `[IPv6]:PORT`.

    `#` starts a comment, to the end of the line.
    """
    for number, line in _numbered(lines):
        if isinstance(line, OverlongLine):
            yield _overlong(number, line)
            continue
        entry = line.partition("#")[0].strip()
        if not entry:
            continue
        try:
            yield _list_target(entry)
        except _BadLine as error:
            yield LineError(number, line, str(error))


_DRYRUN_ADDRESS = re.compile(r"\bdaddr:\s*([^\s|]*)")
_DRYRUN_PORT = re.compile(r"\bdest:\s*([^\s|]*)")
_DRYRUN_SEPARATOR = re.compile(r"-{10,}")


def parse_zmap_dryrun(lines: Iterable[Line]) -> Iterator[Target | LineError]:
    """The text `zmap --dryrun` prints, one block per probe packet:

        tcp { source: 40000 | dest: 80 | seq: 12345 | checksum: 0X1A2B }
        ip { saddr: 10.0.0.1 | daddr: 192.0.2.7 | checksum: 0X3C4D }
        eth { shost: ... | dhost: ... }
        ------------------------------------------------------

    Each packet's `daddr:` is paired with that same packet's `dest:` port, whichever comes first.
    A block ends at the dashed separator, or when a second address or port shows up before the
    separator (output without separators). Lines holding neither token are ignored. A block
    with only one of the two is an error reported at the block's first line.
    """
    address = port = None
    start_number, start_line = 0, ""

    def finish():
        if address is None and port is None:
            return None
        try:
            if address is None or port is None:
                raise _BadLine("probe without " + ("daddr" if address is None else "dest port"))
            version, addr = _address(address, "daddr")
            return Target(version, addr, _port(port))
        except _BadLine as error:
            return LineError(start_number, start_line, str(error))

    for number, line in _numbered(lines):
        if isinstance(line, OverlongLine):
            yield _overlong(number, line)
            continue
        if _DRYRUN_SEPARATOR.fullmatch(line.strip()):
            result = finish()
            if result is not None:
                yield result
            address = port = None
            continue
        found_address = _DRYRUN_ADDRESS.search(line)
        found_port = _DRYRUN_PORT.search(line)
        if not (found_address or found_port):
            continue
        if (found_address and address is not None) or (found_port and port is not None):
            result = finish()
            if result is not None:
                yield result
            address = port = None
        if address is None and port is None:
            start_number, start_line = number, line
        if found_address:
            address = found_address.group(1)
        if found_port:
            port = found_port.group(1)
    result = finish()
    if result is not None:
        yield result
