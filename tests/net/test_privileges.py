"""Giving up root: in a forked child, so the test process keeps its own privileges."""
import json
import os
import socket

import pytest

from lzr.runtime import privileges


def in_child(body) -> dict:
    """Run `body()` in a forked child; return the dict it returns (or its error)."""
    read_fd, write_fd = os.pipe()
    child = os.fork()
    if child == 0:
        os.close(read_fd)
        try:
            result = body()
        except BaseException as error:      # handed to the test below
            result = {"error": f"{type(error).__name__}: {error}"}
        os.write(write_fd, json.dumps(result).encode())
        os._exit(0)
    os.close(write_fd)
    with os.fdopen(read_fd, "rb") as fh:
        data = fh.read()
    os.waitpid(child, 0)
    return json.loads(data)


@pytest.mark.root
def test_a_dropped_process_has_no_way_back():
    nobody = privileges.account("nobody")

    def body():
        raw = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)   # opened while root
        privileges.drop_to(nobody)
        fields = privileges.status()
        outcome = {"uid": fields["Uid"], "gid": fields["Gid"], "groups": fields["Groups"].strip(),
                   "caps": privileges.capabilities(), "no_new_privs": fields["NoNewPrivs"],
                   "raw_still_open": raw.getsockopt(socket.SOL_SOCKET, socket.SO_TYPE)}
        try:
            socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
            outcome["new_raw"] = "opened"
        except PermissionError:
            outcome["new_raw"] = "refused"
        try:
            os.setuid(0)
            outcome["back_to_root"] = "yes"
        except PermissionError:
            outcome["back_to_root"] = "refused"
        return outcome

    result = in_child(body)
    assert "error" not in result, result
    assert result["uid"].split() == [str(nobody.uid)] * 4
    assert result["gid"].split() == [str(nobody.gid)] * 4
    assert result["groups"] == ""
    assert result["caps"] == dict.fromkeys(privileges.CAPABILITY_FIELDS, 0)
    assert result["no_new_privs"] == "1"
    assert result["raw_still_open"] == socket.SOCK_RAW
    assert (result["new_raw"], result["back_to_root"]) == ("refused", "refused")


@pytest.mark.root
def test_root_keeps_everything():
    result = in_child(lambda: (privileges.drop_to(privileges.account("root")),
                               privileges.capabilities())[1])
    assert result["CapEff"] != 0


def test_accounts_by_name_and_number():
    assert privileges.account("0") == privileges.account("root") == ("root", 0, 0)
    with pytest.raises(privileges.PrivilegeError, match="give --user an existing user"):
        privileges.account("no-such-user-here")
