"""One LZR record as one line of JSON, byte for byte what LZR's Go writer produces
(docs/lzr-reference.md §4.1, §4.2).

Field order and omission rules come from the `FIELDS` / `EXTENDED_FIELDS` tables of
`lzr.output.record`; how each value is written is chosen here once, per field, from its type.
"""
import math
from decimal import Decimal
from operator import attrgetter

from lzr.output.gojson import quote_bytes, quote_text
from lzr.output.record import EXTENDED_FIELDS, FIELDS, Record
from lzr.output.timestamps import TimestampFormatter


class EncodeError(ValueError):
    """A record holds a value that has no JSON form in LZR's schema."""


# C-level callables (no Python frame per value): these run for every field of every record.
_go_bool = {True: "true", False: "false"}.__getitem__
_go_int = int.__repr__


def _go_float(value: float) -> str:
    """A float64 as Go's encoding/json writes it: shortest digits, exponent only when tiny/huge."""
    if not math.isfinite(value):
        raise EncodeError(f"non-finite number {value!r} has no JSON form")
    shortest = repr(float(value))  # Python's repr is also the shortest round-tripping form
    magnitude = abs(value)
    if magnitude != 0 and (magnitude < 1e-6 or magnitude >= 1e21):
        # Go writes e-7 (no padding) but e+21 (two digits at least).
        mantissa, _, exponent = shortest.partition("e")
        if exponent.startswith("-"):
            return f"{mantissa}e-{int(exponent[1:])}"
        return f"{mantissa}e+{int(exponent.lstrip('+')):02d}"
    if "e" in shortest:
        shortest = format(Decimal(shortest), "f")
    return shortest.removesuffix(".0")


# How the value of each Record attribute is written; the timestamp needs the zone and is bound
# per encoder.
_CONVERTERS = {
    "saddr": quote_text,
    "daddr": quote_text,
    "sport": _go_int,
    "dport": _go_int,
    "seqnum": _go_int,
    "acknum": _go_int,
    "window": _go_int,
    "ttl": _go_int,
    "counter": _go_int,
    "ack": _go_bool,
    "acked": _go_bool,
    "syn": _go_bool,
    "rst": _go_bool,
    "fin": _go_bool,
    "push": _go_bool,
    "handshake_num": _go_int,
    "fingerprint": quote_text,
    "expected_r_to_lzr": quote_text,
    "data": quote_bytes,
    "acking_firewall": _go_bool,
    "handshake": quote_text,
    "handshakes_tried": _go_int,
    "identify_seconds": _go_float,
    "outcome": quote_text,
    "data_base64": quote_text,
}

# Extended fields whose value None means "not measured": left out of the line.
_OMIT_WHEN_NONE = {"identify_seconds", "outcome"}


class RecordEncoder:
    """Serialises records for one output stream (one zone offset, extended or not)."""

    __slots__ = ("_values_of", "_plan")

    def __init__(self, *, extended: bool = False, utc_offset_seconds: int = 0):
        table = FIELDS + EXTENDED_FIELDS if extended else FIELDS
        timestamps = TimestampFormatter(utc_offset_seconds)
        plan = []
        for position, (attribute, json_name, omit_when_falsy) in enumerate(table):
            if attribute == "timestamp_ns":
                convert = timestamps.quoted
            else:
                convert = _CONVERTERS[attribute]
            separator = "{" if position == 0 else ","
            plan.append((f'{separator}"{json_name}":', convert, omit_when_falsy,
                         attribute in _OMIT_WHEN_NONE))
        self._plan = tuple(plan)
        self._values_of = attrgetter(*(attribute for attribute, _, _ in table))

    def encode(self, record: Record) -> bytes:
        """The record as one JSON object followed by a newline."""
        parts = []
        for (key, convert, omit_when_falsy, omit_when_none), value in zip(
                self._plan, self._values_of(record)):
            if (omit_when_falsy and not value) or (omit_when_none and value is None):
                continue
            parts.append(key)
            parts.append(convert(value))
        parts.append("}\n")
        return "".join(parts).encode("utf-8")


_default_encoders: dict[tuple[bool, int], RecordEncoder] = {}


def encode_record(record: Record, extended: bool = False, utc_offset_seconds: int = 0) -> bytes:
    """One record as LZR's JSON line (with the trailing newline).

    `utc_offset_seconds` is the zone the Timestamp is written in (LZR uses the local zone; the
    runtime derives it once). Writers that encode many records may keep a RecordEncoder.
    """
    key = (extended, utc_offset_seconds)
    encoder = _default_encoders.get(key)
    if encoder is None:
        encoder = _default_encoders[key] = RecordEncoder(
            extended=extended, utc_offset_seconds=utc_offset_seconds)
    return encoder.encode(record)


def encode_json_value(value) -> str:
    """Any value `json.loads` gives, written as Go's encoding/json writes it.

    For records read back from a file: objects keep their key order (LZR's field order, and
    whatever order other tools' fields came in), strings follow Go's escaping, numbers Go's form.
    """
    if isinstance(value, str):
        return quote_text(value)
    if isinstance(value, bool):
        return _go_bool(value)
    if isinstance(value, int):
        return _go_int(value)
    if isinstance(value, float):
        return _go_float(value)
    if value is None:
        return "null"
    if isinstance(value, list):
        return "[" + ",".join(map(encode_json_value, value)) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(f"{quote_text(key)}:{encode_json_value(item)}"
                              for key, item in value.items()) + "}"
    raise EncodeError(f"{type(value).__name__} has no JSON form")
