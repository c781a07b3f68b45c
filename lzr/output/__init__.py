"""LZR's output: the record, its Go-compatible JSON line, the ZGrab feed line, the summary."""
from lzr.output.encode import EncodeError, RecordEncoder, encode_json_value, encode_record
from lzr.output.record import EXTENDED_FIELDS, FIELDS, Record
from lzr.output.summary import Summary
from lzr.output.timestamps import go_duration, local_utc_offset_seconds
from lzr.output.zgrab import zgrab_feed_line

__all__ = [
    "EXTENDED_FIELDS",
    "FIELDS",
    "EncodeError",
    "Record",
    "RecordEncoder",
    "Summary",
    "encode_json_value",
    "encode_record",
    "go_duration",
    "local_utc_offset_seconds",
    "zgrab_feed_line",
]
