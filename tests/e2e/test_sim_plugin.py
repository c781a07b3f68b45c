"""The pytest plugin as another project uses it: the examples of docs/pytest-plugin.md, run by
a separate pytest in a directory of their own (so nothing of this project's conftest helps)."""
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.mininet

DOC = Path(__file__).resolve().parents[2] / "docs" / "pytest-plugin.md"


def test_documented_examples_pass_in_a_foreign_project(tmp_path):
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)
    assert len(blocks) >= 2
    (tmp_path / "test_from_docs.py").write_text("\n\n".join(blocks))
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                             "--rootdir", str(tmp_path), str(tmp_path)],
                            capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert f"{len(re.findall(r'^def test_', chr(10).join(blocks), re.M))} passed" in result.stdout
