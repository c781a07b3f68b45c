"""Least privilege: a process gives up root once it holds what it needed root for.

A scan needs root for a few things at its start: raw sockets (CAP_NET_RAW), a large capture
buffer (CAP_NET_ADMIN), iptables rules and NFQUEUE, files the user named. Once a process holds
its sockets and files, `drop_to(account)` makes it an ordinary process of an unprivileged user
(--user, default `nobody`) for good:

* supplementary groups, then the group, then the user are set for real, effective and saved
  ids (so nothing can switch back), which clears every capability the process had;
* the capability bounding set is emptied and `no_new_privs` is set, so not even running a
  set-user-ID program could bring a capability back;
* the process stays non-dumpable (no other process of that user may ptrace it or read its
  memory), and its parent-death signal, which the kernel clears on a change of user, is armed
  again.

It then checks the result in /proc/self/status and raises PrivilegeError if any id or
capability is left. Sockets opened before the drop keep working: the kernel checks
CAP_NET_RAW when an AF_PACKET socket is created, not when it is used.
"""
from __future__ import annotations

import ctypes
import os
import pwd
import signal
from typing import NamedTuple

PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_CAPBSET_DROP = 24
PR_SET_NO_NEW_PRIVS = 38
CAPABILITY_FIELDS = ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")
_libc = ctypes.CDLL(None, use_errno=True)


class PrivilegeError(RuntimeError):
    """The user does not exist, or privileges could not be given up."""


class Account(NamedTuple):
    name: str
    uid: int
    gid: int


def account(user: str) -> Account:
    """The account of a user name or numeric uid (its group is the user's primary group)."""
    try:
        entry = pwd.getpwuid(int(user)) if user.isdigit() else pwd.getpwnam(user)
    except (KeyError, OverflowError):
        raise PrivilegeError(f"no user {user!r} on this system; give --user an existing user"
                             ) from None
    return Account(entry.pw_name, entry.pw_uid, entry.pw_gid)


def status(pid: int | str = "self") -> dict[str, str]:
    """The fields of /proc/<pid>/status (`Uid`, `Gid`, `CapEff`, ...)."""
    with open(f"/proc/{pid}/status") as fh:
        return dict(line.rstrip("\n").split(":\t", 1) for line in fh if ":\t" in line)


def capabilities(pid: int | str = "self") -> dict[str, int]:
    """The capability sets of a process as bit masks: CapInh, CapPrm, CapEff, CapBnd, CapAmb."""
    fields = status(pid)
    return {name: int(fields[name], 16) for name in CAPABILITY_FIELDS if name in fields}


def _prctl(option: int, value: int) -> None:
    if _libc.prctl(option, ctypes.c_ulong(value), 0, 0, 0) != 0:
        error = ctypes.get_errno()
        raise PrivilegeError(f"prctl({option}) failed: {os.strerror(error)}")


def _last_capability() -> int:
    with open("/proc/sys/kernel/cap_last_cap") as fh:
        return int(fh.read())


def drop_to(user: Account) -> None:
    """Become `user` with no capabilities, for good (see the module docstring).

    For user root (uid 0) nothing changes: the caller asked to keep every privilege.
    """
    if user.uid == 0:
        return
    if os.geteuid() != 0:
        raise PrivilegeError(f"cannot become {user.name}: this process is not root")
    # The bounding set needs CAP_SETPCAP to shrink, so it goes while we still have it.
    for capability in range(_last_capability() + 1):
        _prctl(PR_CAPBSET_DROP, capability)
    os.setgroups([])
    os.setresgid(user.gid, user.gid, user.gid)
    os.setresuid(user.uid, user.uid, user.uid)
    _prctl(PR_SET_NO_NEW_PRIVS, 1)
    _prctl(PR_SET_DUMPABLE, 0)
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    _check(user)


def _check(user: Account) -> None:
    fields = status()
    uids = {int(value) for value in fields["Uid"].split()}
    gids = {int(value) for value in fields["Gid"].split()}
    left = {name: mask for name, mask in capabilities().items() if mask}
    if uids != {user.uid} or gids != {user.gid} or fields.get("Groups", "").strip() or left:
        raise PrivilegeError(f"privileges left after becoming {user.name}: uids {sorted(uids)}, "
                             f"gids {sorted(gids)}, groups {fields.get('Groups', '').strip()!r}, "
                             f"capabilities {left}")
