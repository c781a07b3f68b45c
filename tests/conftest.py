"""Capability gating for the test tiers.

Tests marked ``root``, ``netns`` or ``mininet`` need those capabilities. Off CI a missing
capability skips the test with the reason; on CI (``CI=true``) it fails the test, so a
machine that cannot run a tier never passes by skipping it.
"""
import os
import shutil
import tempfile
from pathlib import Path

import pytest


def _is_root() -> bool:
    return os.geteuid() == 0


def _has_netns() -> bool:
    return _is_root() and shutil.which("ip") is not None and os.path.exists("/proc/self/ns/net")


def _has_mininet() -> bool:
    if not _has_netns() or shutil.which("mnexec") is None:
        return False
    try:
        import mininet.net  # noqa: F401
    except ImportError:
        return False
    return True


CAPABILITIES = {
    "root": (_is_root, "needs root"),
    "netns": (_has_netns, "needs root, iproute2 and network namespaces"),
    "mininet": (_has_mininet, "needs root, Mininet (pip) and mnexec (Debian package mininet)"),
}


def pytest_runtest_setup(item):
    on_ci = os.environ.get("CI", "").lower() == "true"
    for name, (available, reason) in CAPABILITIES.items():
        if item.get_closest_marker(name) is None or available():
            continue
        if on_ci:
            pytest.fail(f"capability missing on CI: {reason}", pytrace=False)
        pytest.skip(reason)


@pytest.fixture(scope="session", autouse=True)
def own_sim_run_root():
    """Every emulated network of this test session keeps its run directory (manifest, scans,
    logs) in a folder of the session's own, removed at the end: runs of the tests never pile
    up in the machine's run root. Subprocesses (`lzr-sim ...`) inherit it.

    Not under pytest's tmp_path: that tree is private to its owner (0700), and real daemons
    that drop to their own user (postgres, for one) must reach their data directories."""
    from lzr_sim.runs import RUN_ROOT_ENV
    root = Path(tempfile.mkdtemp(prefix="lzr-sim-tests-"))
    root.chmod(0o755)
    previous = os.environ.get(RUN_ROOT_ENV)
    os.environ[RUN_ROOT_ENV] = str(root)
    try:
        yield root
    finally:
        if previous is None:
            del os.environ[RUN_ROOT_ENV]
        else:
            os.environ[RUN_ROOT_ENV] = previous
        shutil.rmtree(root, ignore_errors=True)
