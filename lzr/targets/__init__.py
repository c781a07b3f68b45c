"""Where targets come from: ZMap output, target lists, dry-run text, permuted ranges; and what
may be scanned (reserved ranges, blocklist, allowlist). Pure: bytes or lines in, values out."""
from lzr.targets.blocklist import (
    RESERVED_IPV4, RESERVED_IPV6, AddressPolicy, Network, parse_network, parse_network_lines,
)
from lzr.targets.inputs import (
    parse_target_list, parse_zmap, parse_zmap_csv, parse_zmap_dryrun, parse_zmap_json,
)
from lzr.targets.lines import MAX_LINE_LENGTH, LineReader, OverlongLine, split_lines
from lzr.targets.ranges import (
    MAX_SPACE, Checkpoint, CheckpointError, RangeScan, TargetSpace, parse_networks, parse_ports,
)
from lzr.targets.types import LineError, SynAck, Target, TargetSpecError

__all__ = [
    "MAX_LINE_LENGTH", "MAX_SPACE", "RESERVED_IPV4", "RESERVED_IPV6", "AddressPolicy",
    "Checkpoint", "CheckpointError", "LineError", "LineReader", "Network", "OverlongLine",
    "RangeScan", "SynAck", "Target", "TargetSpace", "TargetSpecError", "parse_network", "parse_network_lines", "parse_networks",
    "parse_ports", "parse_target_list", "parse_zmap", "parse_zmap_csv", "parse_zmap_dryrun",
    "parse_zmap_json", "split_lines",
]
