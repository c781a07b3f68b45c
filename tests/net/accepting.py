"""Targets that accept a connection on every port and never say a word, for the tests of a
scan's end: the target namespace answers for a whole network (an AnyIP local route) and
redirects every TCP connection to it to one listener that holds them open."""
from __future__ import annotations

import sys
import time

LISTENER_PORT = 9
SILENT_LISTENER = """
import socket, sys
server = socket.create_server(("0.0.0.0", int(sys.argv[1])), backlog=4096)
held = []
while True:
    held.append(server.accept()[0])
"""


def accept_every_port(target, network: str) -> None:
    """Make `target` (a lab host) accept on every port of every address of `network`."""
    target.cmd("ip", "route", "add", "local", network, "dev", "lo")
    target.cmd("iptables", "-t", "nat", "-A", "PREROUTING", "-p", "tcp", "-d", network,
               "-j", "REDIRECT", "--to-ports", str(LISTENER_PORT))
    target.popen(sys.executable, "-c", SILENT_LISTENER, str(LISTENER_PORT))
    time.sleep(0.5)     # the listener binds
