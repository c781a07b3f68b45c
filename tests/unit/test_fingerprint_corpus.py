"""Every response in tests/data/responses gets its expected label.

Each entry is `<protocol>/<case>.bin` (the raw first data) and `<case>.json`: the handshake
it answers, the expected label when that handshake is the requested one, and where the bytes
came from.
"""
import json
from pathlib import Path

import pytest

from lzr.fingerprint import fingerprint, labels
from lzr.handshakes import DEFAULT_ORDER, LZR_NAMES, REGISTRY
from lzr.handshakes.base import never

CORPUS = Path(__file__).resolve().parents[1] / "data" / "responses"
ENTRIES = sorted(CORPUS.glob("*/*.json"))
NEW_LABELS = {name for name in REGISTRY if name not in LZR_NAMES}


def load(meta_path: Path) -> tuple[dict, bytes]:
    return json.loads(meta_path.read_text()), meta_path.with_suffix(".bin").read_bytes()


@pytest.mark.parametrize("meta_path", ENTRIES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_corpus_entry_gets_its_label(meta_path):
    # `lzr_label`, where given, is what LZR's rules say (--compat) when ours say better.
    meta, data = load(meta_path)
    assert {"handshake", "label", "source"} <= set(meta) <= {"handshake", "label", "source",
                                                              "lzr_label"}
    assert meta["handshake"] in REGISTRY
    assert meta["source"].startswith(("captured from", "built from", "built after"))
    assert fingerprint(data, [meta["handshake"]]) == meta["label"]
    lzr_label = meta.get("lzr_label", meta["label"])
    assert fingerprint(data, [meta["handshake"]], compat=True) == lzr_label


def test_every_rule_has_a_corpus_response():
    with_rules = {name for name, hs in REGISTRY.items() if hs.match is not never}
    covered = {path.parent.name for path in ENTRIES}
    assert with_rules - covered == set()


def test_every_corpus_file_has_its_metadata():
    for data_path in CORPUS.glob("*/*.bin"):
        assert data_path.with_suffix(".json").exists(), data_path


@pytest.mark.parametrize("meta_path", ENTRIES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_lzr_and_new_rules_do_not_claim_each_others_responses(meta_path):
    _, data = load(meta_path)
    found = set(labels(data))
    if meta_path.parent.name in NEW_LABELS:
        assert found == {meta_path.parent.name}
    else:
        assert found.isdisjoint(NEW_LABELS)


def test_handshakes_all_names_an_rdp_server_rdp():
    # With `-handshakes all` the default order is the tie-break list; an RDP Connection
    # Confirm satisfies the siemens (COTP) rule too.
    _, data = load(CORPUS / "rdp" / "connection-confirm.json")
    assert labels(data, compat=True) == ["rdp", "siemens"]
    assert fingerprint(data, DEFAULT_ORDER, compat=True) == "rdp"
    assert labels(data) == ["rdp"]      # outside --compat only the rdp rule names it
