"""How the emulated network is packaged: the folders sim/ and topologies/ install as
`lzr_sim` and `lzr_sim.topologies`, never under their generic names, and each topology file
still works as `mn --custom topologies/<name>.py --topo <name>`."""
import importlib.metadata
import runpy
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import setuptools

ROOT = Path(__file__).resolve().parents[2]
TOPOLOGIES = ("lan", "routed", "sparse")


def package_dirs(monkeypatch) -> dict[str, str]:
    """The package -> folder map setup.py hands to setuptools."""
    given = {}
    monkeypatch.setattr(setuptools, "setup", lambda **kwargs: given.update(kwargs))
    monkeypatch.chdir(ROOT)
    runpy.run_path(str(ROOT / "setup.py"))
    assert sorted(given["packages"]) == sorted(given["package_dir"])
    return given["package_dir"]


def test_every_package_folder_installs_under_lzr_or_lzr_sim(monkeypatch):
    dirs = package_dirs(monkeypatch)
    assert {name.split(".")[0] for name in dirs} == {"lzr", "lzr_sim"}
    assert dirs["lzr_sim"] == "sim" and dirs["lzr_sim.topologies"] == "topologies"
    folders = {str(init.parent.relative_to(ROOT)) for top in ("lzr", "sim", "topologies")
               for init in (ROOT / top).rglob("__init__.py")}
    assert set(dirs.values()) == folders


def test_the_generic_names_are_not_importable_outside_the_checkout(tmp_path):
    code = ("import importlib.util as u\n"
            "print(u.find_spec('sim'), u.find_spec('topologies'), u.find_spec('lzr_sim.topologies.routed').origin)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, check=True)
    missing_sim, missing_topologies, routed = result.stdout.split()
    assert (missing_sim, missing_topologies) == ("None", "None")
    assert Path(routed) == ROOT / "topologies" / "routed.py"


def test_console_script_and_pytest_plugin_point_at_lzr_sim():
    entry_points = importlib.metadata.distribution("lzr").entry_points
    assert {(e.group, e.name, e.value) for e in entry_points if "sim" in e.name} == {
        ("console_scripts", "lzr-sim", "lzr_sim.cli:main"), ("pytest11", "lzr_sim", "lzr_sim.pytest_plugin")}


# What `mn --custom FILE --topo NAME,3` does with FILE (mininet/bin/mn, MininetRunner.custom and
# buildTopo), short of building the network: mn would run its global cleanup on any error.
MN_CUSTOM = """
import sys
file, name = sys.argv[1], sys.argv[2]
customs = {}
exec(compile(open(file).read(), file, "exec"), customs, customs)
topo = customs["topos"][name](3)
print(" ".join(sorted(topo.hosts())))
"""


def mininet_pythons() -> list[str]:
    """The venv's interpreter, and Debian's, which the `mn` command runs with."""
    found = [sys.executable]
    mn = shutil.which("mn")
    if mn:
        found.append(Path(mn).read_text().splitlines()[0].removeprefix("#!").split()[0])
    return found


@pytest.mark.parametrize("python", mininet_pythons())
@pytest.mark.parametrize("name", TOPOLOGIES)
def test_mn_custom_loads_each_topology_file(python, name, tmp_path):
    result = subprocess.run([python, "-c", MN_CUSTOM, str(ROOT / "topologies" / f"{name}.py"), name],
                            capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert result.returncode == 0, result.stderr
    hosts = result.stdout.split()
    run_id = hosts[0][:4]
    assert all(host.startswith(run_id) for host in hosts) and f"{run_id}sc" in hosts
    assert len([h for h in hosts if h[4:5] in "hp"]) == 3
