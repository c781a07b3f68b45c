"""The repository stands on its own: no tracked file points outside it, names a path of the
machine it was written on, or cites an issue number a reader cannot see; every citation of
docs/lzr-reference.md names a section it has.

The patterns are written so that this file does not match them itself.
"""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = "docs/lzr-reference.md"

FORBIDDEN = {
    "a path outside the repository": re.compile(r"\.\./share[d]"),
    "the shared behaviour reference": re.compile(r"lzr-behaviou[r]"),
    "an absolute path of a development machine": re.compile(r"(?<![\w.])/(?:wor[k]|roo[t])/"),
    "an issue number": re.compile(r"\bissue[s]?\s+#?\d", re.IGNORECASE),
}
CITATION = re.compile(re.escape(REFERENCE) + r"\s+§(\d+(?:\.\d+)?)")
HEADING = re.compile(r"^#{2,3} (\d+(?:\.\d+)?)\.? ", re.MULTILINE)


def tracked_files() -> list[Path]:
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True)
    return [ROOT / name for name in listed.stdout.decode().split("\0") if name]


def text_of(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (UnicodeDecodeError, FileNotFoundError):
        return None         # binary (the response corpus), or deleted in the work tree


def test_no_tracked_file_points_outside_the_repository():
    offences = []
    files = tracked_files()
    assert len(files) > 100
    for path in files:
        text = text_of(path)
        if text is None:
            continue
        for number, line in enumerate(text.splitlines(), 1):
            for what, pattern in FORBIDDEN.items():
                if pattern.search(line):
                    offences.append(f"{path.relative_to(ROOT)}:{number}: {what}: {line.strip()}")
    assert offences == []


def test_every_citation_of_the_reference_names_one_of_its_sections():
    sections = set(HEADING.findall((ROOT / REFERENCE).read_text(encoding="utf-8")))
    assert {"1", "2.4", "3.2", "4.1", "7.3", "9"} <= sections
    cited = {}
    for path in tracked_files():
        text = text_of(path)
        if text is not None:
            for section in CITATION.findall(text):
                cited.setdefault(section, path.relative_to(ROOT))
    assert len(cited) > 20
    assert {section: str(path) for section, path in cited.items() if section not in sections} == {}


def test_the_patterns_catch_what_they_are_for():
    samples = {
        "a path outside the repository": "see ../" + "shared/ARCHITECTURE.md",
        "the shared behaviour reference": "(reference lzr-" + "behaviour.md §2.4)",
        "an absolute path of a development machine": "cd /" + "work/main && make",
        "an issue number": "Target (" + "iss" + "ue 7): 10x",
    }
    for what, sample in samples.items():
        assert FORBIDDEN[what].search(sample), what
    assert not FORBIDDEN["an issue number"].search("https://github.com/stanford-esrg/lzr/issues/13")
    assert not FORBIDDEN["an absolute path of a development machine"].search("lzr/workdir/x.py")
