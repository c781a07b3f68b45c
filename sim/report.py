"""A scan's records against the manifest: how well did the scanner name what runs where?

    report = evaluate(manifest, records, handshakes=["wait", "http", "tls"])
    print(report.markdown())

Definitions (over the targets of the manifest):

* recall of protocol P: identifiable services of P whose record says P, over all
  identifiable services of P;
* precision of label P: records labelled P whose target really runs P, over all records
  labelled P (a P label on a zero-window host, or on an address the manifest does not list,
  is a false positive);
* hard cases: every target with an `expect` in the manifest (zero window, ACKing firewall,
  RST, ...) is checked field by field against its record;
* handshakes needed: for each identified service, the position (1-based) in the handshake
  order of the handshake that named it; the coverage curve is the fraction of identifiable
  services named within the first k handshakes.

When a target has several records (forced handshakes), the one with a label is used.
"""
from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from lzr_sim.manifest import Manifest

UNKNOWN = "unknown"
MISSING = "(no record)"


def load_records(path: str | Path) -> list[dict]:
    """LZR JSON lines; blank lines are skipped, anything else that is not JSON is an error."""
    records = []
    for number, line in enumerate(Path(path).read_text().splitlines(), 1):
        if line.strip():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as error:
                raise ValueError(f"{path}:{number}: not a JSON record: {error}") from None
    return records


def _label(record: dict | None) -> str:
    if record is None:
        return MISSING
    return record.get("fingerprint") or UNKNOWN


def _choose(records: list[dict]) -> dict:
    labelled = [r for r in records if _label(r) != UNKNOWN]
    return (labelled or records)[-1]


@dataclass
class ProtocolScore:
    protocol: str
    services: int = 0        # identifiable services of this protocol
    found: int = 0           # ... whose record names it
    labelled: int = 0        # records labelled with it
    correct_labels: int = 0  # ... on a target that runs it

    @property
    def recall(self) -> float | None:
        return self.found / self.services if self.services else None

    @property
    def precision(self) -> float | None:
        return self.correct_labels / self.labelled if self.labelled else None


@dataclass
class HardCase:
    address: str
    port: int
    behaviour: str
    expect: dict
    record: dict | None

    @property
    def mismatches(self) -> dict[str, tuple]:
        """field -> (expected, got) for every expected field the record does not carry."""
        got = self.record or {}
        defaults = {"ackingFirewall": False, "RST": False, "fingerprint": UNKNOWN}
        return {key: (value, got.get(key, defaults.get(key)))
                for key, value in self.expect.items() if got.get(key, defaults.get(key)) != value}

    @property
    def ok(self) -> bool:
        return self.record is not None and not self.mismatches


@dataclass
class Report:
    handshakes: list[str]
    scores: dict[str, ProtocolScore]
    confusion: dict[str, Counter]              # true protocol -> Counter of labels given
    hard_cases: list[HardCase]
    needed: dict[str, Counter]                 # protocol -> Counter of 1-based handshake position
    coverage: list[float]                      # k -> fraction named within the first k+1 handshakes
    unlisted_records: list[dict] = field(default_factory=list)  # records for targets not in the manifest
    records: int = 0
    outcomes: Counter = field(default_factory=Counter)  # the records' `outcome` (lzr --extended)

    @property
    def identifiable(self) -> int:
        return sum(score.services for score in self.scores.values())

    @property
    def recall(self) -> float:
        found = sum(score.found for score in self.scores.values())
        return found / self.identifiable if self.identifiable else 1.0

    @property
    def precision(self) -> float:
        labelled = sum(score.labelled for score in self.scores.values())
        correct = sum(score.correct_labels for score in self.scores.values())
        return correct / labelled if labelled else 1.0

    def markdown(self) -> str:
        return _markdown(self)

    def summary(self) -> dict:
        """The headline figures as plain data (for tests, CI logs and bench scripts)."""
        return {
            "records": self.records, "identifiable": self.identifiable,
            "recall": self.recall, "precision": self.precision,
            "hard_cases": len(self.hard_cases),
            "hard_cases_ok": sum(case.ok for case in self.hard_cases),
            "unlisted_records": len(self.unlisted_records),
            "coverage": self.coverage,
        }


def _position(record: dict, handshakes: list[str]) -> int | None:
    """1-based position in the handshake order of the handshake that named the record."""
    name = record.get("handshake")
    if name and name in handshakes:
        return handshakes.index(name) + 1
    number = record.get("HandshakeNum")
    return number + 1 if isinstance(number, int) else None


def evaluate(manifest: Manifest, records: list[dict], handshakes: list[str] | None = None) -> Report:
    handshakes = list(handshakes or [])
    by_target: dict[tuple[str, int], list[dict]] = defaultdict(list)
    unlisted = []
    for record in records:
        key = (record.get("saddr"), record.get("sport"))
        if manifest.service_at(*key) is None:
            unlisted.append(record)
        else:
            by_target[key].append(record)
    chosen = {key: _choose(group) for key, group in by_target.items()}

    scores: dict[str, ProtocolScore] = {}
    confusion: dict[str, Counter] = defaultdict(Counter)
    needed: dict[str, Counter] = defaultdict(Counter)
    hard_cases = []
    positions = []

    def score(name: str) -> ProtocolScore:
        return scores.setdefault(name, ProtocolScore(name))

    for address, port, service in manifest.targets():
        record = chosen.get((address, port))
        label = _label(record)
        if service.identifiable:
            score(service.protocol).services += 1
            confusion[service.protocol][label] += 1
            if label == service.protocol:
                score(service.protocol).found += 1
                position = _position(record, handshakes)
                if position is not None:
                    needed[service.protocol][position] += 1
                    positions.append(position)
        elif service.expect is not None:
            hard_cases.append(HardCase(address, port, service.behaviour if service.behaviour != "normal"
                                       else _host_behaviour(manifest, address), service.expect, record))
        if label not in (UNKNOWN, MISSING):
            score(label).labelled += 1
            score(label).correct_labels += label == service.protocol
    for record in unlisted:
        label = _label(record)
        if label != UNKNOWN:
            score(label).labelled += 1

    total = sum(score.services for score in scores.values())
    depth = max([len(handshakes), *positions, 0])
    coverage = [sum(1 for p in positions if p <= k) / total if total else 0.0
                for k in range(1, depth + 1)]
    return Report(handshakes, dict(sorted(scores.items())), dict(confusion), hard_cases,
                  dict(needed), coverage, unlisted, records=len(records),
                  outcomes=Counter(r["outcome"] for r in records if "outcome" in r))


def _host_behaviour(manifest: Manifest, address: str) -> str:
    return next(host.behaviour for host in manifest.hosts if host.address == address)


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"


def _markdown(report: Report) -> str:
    lines = ["# Scan accuracy", ""]
    found = sum(s.found for s in report.scores.values())
    lines += [f"- records: {report.records}"
              + "".join(f", {outcome} {n}" for outcome, n in report.outcomes.most_common()),
              f"- identifiable services: {report.identifiable}, named correctly: {found}",
              f"- recall: **{_percent(report.recall)}**, precision: **{_percent(report.precision)}**"]
    if report.handshakes:
        lines.append(f"- handshakes: `{','.join(report.handshakes)}`")
    if report.unlisted_records:
        lines.append(f"- records for targets the manifest does not list: {len(report.unlisted_records)}")
    lines += ["", "## Per protocol", "", "| protocol | services | named | recall | labels given | precision |",
              "|---|---:|---:|---:|---:|---:|"]
    for score in report.scores.values():
        lines.append(f"| {score.protocol} | {score.services} | {score.found} | {_percent(score.recall)} "
                     f"| {score.labelled} | {_percent(score.precision)} |")

    lines += ["", "## Confusion (true protocol → label given)", ""]
    wrong = {truth: {label: n for label, n in labels.items() if label != truth}
             for truth, labels in sorted(report.confusion.items())}
    wrong = {truth: labels for truth, labels in wrong.items() if labels}
    if wrong:
        lines += ["| true protocol | labels given instead |", "|---|---|"]
        for truth, labels in wrong.items():
            given = ", ".join(f"{label} ×{n}" for label, n in sorted(labels.items()))
            lines.append(f"| {truth} | {given} |")
    else:
        lines.append("Every identifiable service got its own label.")

    lines += ["", "## Hard cases", ""]
    if report.hard_cases:
        lines += ["| target | behaviour | expected | result |", "|---|---|---|---|"]
        for case in report.hard_cases:
            expected = ", ".join(f"{k}={json.dumps(v)}" for k, v in case.expect.items())
            if case.record is None:
                result = "no record"
            elif case.ok:
                result = "as expected"
            else:
                result = "; ".join(f"{k}: got {json.dumps(got)}" for k, (_, got) in case.mismatches.items())
            lines.append(f"| {case.address}:{case.port} | {case.behaviour} | {expected} | {result} |")
    else:
        lines.append("None in this population.")

    lines += ["", "## Handshakes needed", ""]
    if report.needed:
        header = "| protocol | " + " | ".join(f"#{k}" for k in range(1, len(report.coverage) + 1)) + " |"
        lines += [header, "|---|" + "---:|" * len(report.coverage)]
        for protocol, counts in sorted(report.needed.items()):
            cells = " | ".join(str(counts.get(k, "")) for k in range(1, len(report.coverage) + 1))
            lines.append(f"| {protocol} | {cells} |")
        lines += ["", "Coverage by handshake order (identifiable services named within the first k):", ""]
        for k, value in enumerate(report.coverage, 1):
            name = report.handshakes[k - 1] if k <= len(report.handshakes) else "?"
            lines.append(f"- k={k} (`{name}`): {_percent(value)}")
    else:
        lines.append("No service was named.")
    return "\n".join(lines) + "\n"


def draw(report: Report, directory: str | Path) -> list[Path]:
    """PNG plots (coverage curve, per-protocol recall/precision, confusion) into `directory`."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    written = []

    figure, axes = plt.subplots(figsize=(6, 4))
    ks = list(range(1, len(report.coverage) + 1))
    axes.plot(ks, [100 * v for v in report.coverage], marker="o")
    axes.set_xticks(ks, [f"{k}\n{report.handshakes[k - 1]}" if k <= len(report.handshakes) else str(k)
                         for k in ks], fontsize=7)
    axes.set_ylim(0, 100)
    axes.set_ylabel("identifiable services named (%)")
    axes.set_title("Coverage by handshake order")
    written.append(_save(figure, directory / "coverage.png"))

    scores = [s for s in report.scores.values() if s.services or s.labelled]
    figure, axes = plt.subplots(figsize=(max(6, len(scores) * 0.5), 4))
    xs = range(len(scores))
    axes.bar([x - 0.2 for x in xs], [100 * (s.recall or 0) for s in scores], width=0.4, label="recall")
    axes.bar([x + 0.2 for x in xs], [100 * (s.precision or 0) for s in scores], width=0.4, label="precision")
    axes.set_xticks(list(xs), [s.protocol for s in scores], rotation=60, fontsize=7)
    axes.set_ylim(0, 105)
    axes.legend()
    axes.set_title("Recall and precision per protocol")
    written.append(_save(figure, directory / "per-protocol.png"))

    truths = sorted(report.confusion)
    labels = sorted({label for counts in report.confusion.values() for label in counts})
    figure, axes = plt.subplots(figsize=(max(5, len(labels) * 0.45), max(4, len(truths) * 0.35)))
    matrix = [[report.confusion[t].get(label, 0) for label in labels] for t in truths]
    axes.imshow(matrix or [[0]], cmap="Blues", aspect="auto")
    axes.set_xticks(range(len(labels)), labels, rotation=60, fontsize=7)
    axes.set_yticks(range(len(truths)), truths, fontsize=7)
    axes.set_xlabel("label given")
    axes.set_ylabel("true protocol")
    darkest = max((max(counts) for counts in matrix), default=0)
    for row, counts in enumerate(matrix):
        for column, count in enumerate(counts):
            if count:
                axes.text(column, row, str(count), ha="center", va="center", fontsize=6,
                          color="white" if count > darkest / 2 else "black")
    axes.set_title("Confusion matrix")
    written.append(_save(figure, directory / "confusion.png"))
    return written


def _save(figure, path: Path) -> Path:
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    import matplotlib.pyplot as plt
    plt.close(figure)
    return path
