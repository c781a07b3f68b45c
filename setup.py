"""Which folder installs as which package; everything else is in pyproject.toml.

The repository keeps the folders `sim/` and `topologies/`, but installing them under those
generic top-level names could collide with other projects, so they install as `lzr_sim` and
`lzr_sim.topologies` (docs/sim.md, "Packaging"). Subpackages are found in each folder, so a
new one needs no entry here.
"""
from setuptools import find_packages, setup

FOLDERS = {"lzr": "lzr", "lzr_sim": "sim", "lzr_sim.topologies": "topologies"}


def packages_in(package: str, folder: str) -> dict[str, str]:
    """`package` and every subpackage below `folder`, each with its directory."""
    found = {package: folder}
    for sub in find_packages(folder):
        found[f"{package}.{sub}"] = f"{folder}/{sub.replace('.', '/')}"
    return found


PACKAGE_DIRS = {name: path for package, folder in FOLDERS.items() for name, path in packages_in(package, folder).items()}

setup(packages=sorted(PACKAGE_DIRS), package_dir=PACKAGE_DIRS)
