"""The end-of-scan summary LZR prints on stderr (docs/lzr-reference.md §4.5), plus our own.

Form, line by line:

    Runtime: 1m2.5s
    {"TotalResponses":3,"ZeroWindow":0,...,"HyperACKtive":0,"MalformedInput":0,"Blocked":0}
    Outcomes: {"identified":2,"rst":1}
    http: 2
    unknown: 1

The first JSON object holds LZR's counters in LZR's key order, then ours (input lines skipped
as malformed, targets skipped by the blocklist, targets whose SYNs got no answer, frames the
capture dropped). LZR's counters are worked out from each record's fields, as LZR does; the
outcomes line counts the records' `outcome` (record.py), in the order of `Outcome`, leaving
out those no record had. Go prints the label lines in map order, which is random; we print
them by count, largest first, then by label.
"""
import json
from collections import Counter

from lzr.output.record import Outcome, Record
from lzr.output.timestamps import go_duration

LZR_COUNTERS = (
    "TotalResponses", "ZeroWindow", "ACKed", "Data", "No_SYNACK", "Rst", "Fin", "Resp_ack",
    "HyperACKtive",
)
OWN_COUNTERS = ("MalformedInput", "Blocked", "Unanswered", "CaptureDrops")
OUTCOMES_PREFIX = "Outcomes: "


class Summary:
    """Counts every record written (or suppressed by -onlyDataRecord) the way LZR does."""

    def __init__(self):
        self.counters = dict.fromkeys(LZR_COUNTERS + OWN_COUNTERS, 0)
        self.outcomes: Counter[Outcome] = Counter()
        self.labels: Counter[str] = Counter()

    def count(self, record: Record) -> None:
        counters = self.counters
        counters["TotalResponses"] += 1
        self.labels[record.fingerprint] += 1
        if record.outcome is not None:
            self.outcomes[record.outcome] += 1
        if record.acking_firewall:
            # LZR counts an ACKing-firewall verdict only as such, whatever the packet says.
            counters["HyperACKtive"] += 1
            return
        if record.window == 0:
            counters["ZeroWindow"] += 1
        if record.acked:
            counters["ACKed"] += 1
        if record.rst:
            counters["Rst"] += 1
        if record.fin:
            counters["Fin"] += 1
        if record.expected_r_to_lzr == "sa":
            counters["No_SYNACK"] += 1
        if record.data:
            counters["Data"] += 1
        if record.ack and not record.syn:
            counters["Resp_ack"] += 1

    def count_malformed_input(self, lines: int = 1) -> None:
        self.counters["MalformedInput"] += lines

    def count_blocked(self, targets: int = 1) -> None:
        self.counters["Blocked"] += targets

    def count_capture_drops(self, frames: int) -> None:
        """Frames the kernel dropped from the capture for lack of room: answers lost."""
        self.counters["CaptureDrops"] += frames

    def count_unanswered(self, targets: int) -> None:
        """Targets lzr sent SYNs to that neither SYN-ACKed nor refused them (range scans
        write no record for them)."""
        self.counters["Unanswered"] += targets

    def merge(self, other: "Summary") -> None:
        """Adds another process's counts to these."""
        for name, value in other.counters.items():
            self.counters[name] += value
        self.outcomes.update(other.outcomes)
        self.labels.update(other.labels)

    def format(self, runtime_seconds: float) -> str:
        """The summary text for stderr, newline-terminated."""
        lines = [
            "Runtime: " + go_duration(round(runtime_seconds * 1_000_000_000)),
            json.dumps(self.counters, separators=(",", ":")),
        ]
        if self.outcomes:
            seen = {str(o): self.outcomes[o] for o in Outcome if self.outcomes[o]}
            lines.append(OUTCOMES_PREFIX + json.dumps(seen, separators=(",", ":")))
        by_count = sorted(self.labels.items(), key=lambda item: (-item[1], item[0]))
        lines.extend(f"{label}: {count}" for label, count in by_count)
        return "\n".join(lines) + "\n"

    @classmethod
    def parse(cls, text: str) -> "Summary":
        """The counts back from `format`'s text: the writer process sends the summary as text,
        and the metadata file wants the numbers."""
        summary = cls()
        for line in text.splitlines()[1:]:
            if line.startswith("{"):
                summary.counters.update(json.loads(line))
            elif line.startswith(OUTCOMES_PREFIX):
                outcomes = json.loads(line[len(OUTCOMES_PREFIX):])
                summary.outcomes.update({Outcome(name): count for name, count in outcomes.items()})
            else:
                label, _, count = line.rpartition(": ")
                summary.labels[label] = int(count)
        return summary
