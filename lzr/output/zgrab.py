"""The `-feedZGrab` line (docs/lzr-reference.md §4.4): ZGrab2 `multiple` CSV input per record."""
from lzr.output.record import Record


def zgrab_feed_line(record: Record) -> str:
    """`<saddr>,,<fingerprint>,<sport>` (ip, empty domain, trigger, port), without newline."""
    return f"{record.saddr},,{record.fingerprint},{record.sport}"
