"""argparse as LZR and ZMap users expect it: an option is only ever its exact name.

Python's argparse takes any unambiguous prefix of an option (`-sendS` for `-sendSYNs`, `-b`
for `-blocklist`). `allow_abbrev=False` stops that for `--long` options only; options with
one dash, which LZR's Go-style flags all have, are still matched by prefix on Python 3.11.
"""
from __future__ import annotations

import argparse

from lzr import __version__


class ExactArgumentParser(argparse.ArgumentParser):
    """An ArgumentParser (and its subparsers) that accepts option names only as written."""

    def __init__(self, *args, **kwargs):
        kwargs["allow_abbrev"] = False
        super().__init__(*args, **kwargs)

    def _get_option_tuples(self, option_string):
        # argparse asks this for every argument that is not an exact option name: the prefix
        # matches and the `-xVALUE` split of one-letter options. Neither is a name as written.
        return []


def add_version(parser: argparse.ArgumentParser, *names: str) -> None:
    """`--version` (and any other `names`): print `<prog> <version>` and exit 0."""
    parser.add_argument(*(names or ("--version",)), action="version",
                        version=f"%(prog)s {__version__}", help="print the version and exit")
