"""The RST guard: keep the scanning host's kernel from resetting the scanner's connections.

The scanner completes TCP handshakes with hand-built packets, so the kernel of the scanning
host sees SYN-ACKs for connections it never opened and answers each with a RST, which kills
the target's half-open connection before the scanner's ACK arrives. The guard adds one
iptables (ip6tables for IPv6) rule to the OUTPUT chain that stops those RSTs. The scanner's
own packets leave through AF_PACKET, which does not traverse OUTPUT, so they are untouched.

Modes (docs/rst-guard.md has the full story):

* ``source-ip``: LZR's rule, drop every RST from the scanning address.
* ``source-ports``: drop RSTs from the scanning address only when they come from the
  scanner's local port range, so the host's other connections keep their RSTs.
* ``nfqueue``: send RSTs from the scanning address to an NFQUEUE; a thread drops those of
  flows the scanner owns and lets the rest pass. With ``--queue-bypass`` the RSTs pass when
  no program listens on the queue.

The package: `rules` (the rule text, pure), `guard` (`RstGuard`: install, always remove,
remove the rules of dead runs), `nfqueue` (the verdict thread of the nfqueue mode).
"""
from lzr.runtime.rstguard.guard import DEFAULT_HOLD_SECONDS, RstGuard
from lzr.runtime.rstguard.rules import DEFAULT_NFQUEUE_NUM, MODES, RstGuardError

__all__ = ["DEFAULT_HOLD_SECONDS", "DEFAULT_NFQUEUE_NUM", "MODES", "RstGuard", "RstGuardError"]
