"""Go-style time texts: RFC 3339 with nanoseconds (time.RFC3339Nano) and Duration.String().

The zone offset is an argument: the encoder never looks at a clock or at the process's zone.
The runtime derives the local offset once with `local_utc_offset_seconds`.
"""
import time

# Go's zero time.Time, which LZR writes for records that never got a timestamp.
GO_ZERO_TIME = "0001-01-01T00:00:00Z"

_NS_PER_SECOND = 1_000_000_000


def local_utc_offset_seconds(unix_seconds: float) -> int:
    """The local zone's offset from UTC at the given moment, in seconds (east positive)."""
    return time.localtime(unix_seconds).tm_gmtoff


def zone_suffix(utc_offset_seconds: int) -> str:
    """`Z` for UTC, else `+hh:mm` / `-hh:mm` as Go's Z07:00 layout prints it."""
    if utc_offset_seconds == 0:
        return "Z"
    sign = "+" if utc_offset_seconds > 0 else "-"
    minutes = abs(utc_offset_seconds) // 60
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"


class TimestampFormatter:
    """Formats Unix-nanosecond timestamps like Go's time.RFC3339Nano in one fixed zone.

    Records arrive roughly in time order, so the date-and-time part of the last second is kept
    and only the fraction is formatted for the following records of the same second.
    """

    __slots__ = ("_offset", "_suffix", "_cached_second", "_cached_prefix")

    def __init__(self, utc_offset_seconds: int = 0):
        self._offset = utc_offset_seconds
        self._suffix = zone_suffix(utc_offset_seconds)
        self._cached_second: int | None = None
        self._cached_prefix = ""

    def quoted(self, unix_ns: int | None) -> str:
        """The timestamp as a JSON string literal."""
        return f'"{self.format(unix_ns)}"'

    def format(self, unix_ns: int | None) -> str:
        if unix_ns is None:
            return GO_ZERO_TIME
        second, nanos = divmod(unix_ns, _NS_PER_SECOND)
        if second != self._cached_second:
            wall = time.gmtime(second + self._offset)
            self._cached_prefix = time.strftime("%Y-%m-%dT%H:%M:%S", wall)
            self._cached_second = second
        if nanos == 0:
            return self._cached_prefix + self._suffix
        # Go's .999999999 layout: up to nine digits, trailing zeros (and then the dot) dropped.
        return f"{self._cached_prefix}.{nanos:09d}".rstrip("0") + self._suffix


def _fraction(value: int, digits: int) -> str:
    """`value` scaled down by 10**digits as Go prints it: `1.5`, `2`, never `2.0`."""
    whole, frac = divmod(value, 10**digits)
    if frac == 0:
        return str(whole)
    return f"{whole}.{frac:0{digits}d}".rstrip("0")


def go_duration(nanoseconds: int) -> str:
    """A duration the way Go's time.Duration.String prints it: `1h2m3.5s`, `150ms`, `0s`."""
    if nanoseconds == 0:
        return "0s"
    sign = "-" if nanoseconds < 0 else ""
    ns = abs(nanoseconds)
    if ns < 1_000:
        return f"{sign}{ns}ns"
    if ns < 1_000_000:
        return f"{sign}{_fraction(ns, 3)}µs"
    if ns < _NS_PER_SECOND:
        return f"{sign}{_fraction(ns, 6)}ms"
    whole_seconds, nanos = divmod(ns, _NS_PER_SECOND)
    minutes, seconds = divmod(whole_seconds, 60)
    hours, minutes = divmod(minutes, 60)
    text = _fraction(seconds * _NS_PER_SECOND + nanos, 9) + "s"
    if hours:
        return f"{sign}{hours}h{minutes}m{text}"
    if minutes:
        return f"{sign}{minutes}m{text}"
    return sign + text
