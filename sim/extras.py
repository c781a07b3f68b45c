"""The optional dependencies of the `lzr` distribution, and the one-line message a missing
one gets instead of a traceback."""
from __future__ import annotations

import importlib

# Top-level module -> the extra of pyproject.toml that installs it.
EXTRA_OF_MODULE = {"mininet": "sim", "matplotlib": "sim", "scapy": "sim", "netfilterqueue": "nfqueue"}


def missing_extra(error: ModuleNotFoundError) -> str | None:
    """What to tell the user when `error` is a module of one of our extras; None otherwise."""
    module = (error.name or "").split(".")[0]
    extra = EXTRA_OF_MODULE.get(module)
    if extra is None:
        return None
    return f"needs the Python package {module}, which the `{extra}` extra installs: pip install 'lzr[{extra}]'"


def require(*modules: str) -> None:
    """Import `modules` now, so a missing extra is reported before any work starts."""
    for module in modules:
        importlib.import_module(module)
