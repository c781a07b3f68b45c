"""The RST guard in a scanner namespace against a real kernel TCP listener in a target namespace.

Each flow is opened the way the scanner opens it: a raw SYN (scapy, AF_PACKET, so the
scanner's kernel has no socket for it), the target's SYN-ACK, then a hand-built ACK carrying
data. If the scanner's kernel RST reached the target first, the target has forgotten the
half-open connection and answers the ACK with a RST ("reset"); if the guard stopped the RST,
the target ACKs the data ("alive"). A counter rule in the target namespace counts the RSTs
that arrive from the scanner.
"""
import contextlib
import json
import signal
import sys
import textwrap

import pytest

from lzr_sim.lab import NetnsLab

pytestmark = pytest.mark.netns

SCANNER, TARGET, PORT = "10.9.0.1", "10.9.0.2", 8080

# Runs in the scanner namespace: installs the guard described by argv[1] (JSON) and opens the
# flows, printing one JSON line {local port: outcome, ..., "verdicts": [dropped, accepted]}.
PROBE = textwrap.dedent("""
    import contextlib, ipaddress, json, os, sys, time
    from scapy.all import IP, IPv6, TCP, Ether, conf, srp1
    from lzr.runtime.flow_announce import FlowAnnouncer
    from lzr.runtime.kernel_tables import resolve_neighbour, resolve_route
    from lzr.runtime.rstguard import RstGuard
    conf.verb = 0
    spec = json.loads(sys.argv[1])
    target, port = spec["target"], spec["port"]
    target_int = int(ipaddress.ip_address(target))
    version = ipaddress.ip_address(target).version
    Network = IP if version == 4 else IPv6
    # The kernel resolves the target's MAC (and so waits for a link that just came up).
    interface = resolve_route(target).interface
    link = Ether(dst=resolve_neighbour(interface, target).hex(":"))

    def exchange(packet):
        return srp1(link / packet, iface=interface, timeout=3)

    def verdicts(guard):
        loop = guard.queue_loop if guard else None
        return [loop.dropped, loop.accepted] if loop else None

    def open_flow(local_port, guard):
        before = verdicts(guard)
        synack = exchange(Network(dst=target) / TCP(sport=local_port, dport=port, flags="S", seq=1000))
        if synack is None:
            return "no syn-ack"
        if local_port in spec.get("late_ports", []):
            # Announced only now, while the kernel's RST already waits in the queue.
            with FlowAnnouncer(guard.announce_endpoint) as announcer:
                announcer.opened(target_int, port, local_port)
        # nfqueue: let the guard give the kernel's RST its verdict before the ACK goes out.
        deadline = time.monotonic() + 5
        while before is not None and sum(verdicts(guard)) == sum(before):
            if time.monotonic() > deadline:
                return "no verdict"
            time.sleep(0.01)
        ack = Network(dst=target) / TCP(sport=local_port, dport=port, flags="PA", seq=1001,
                                   ack=synack[TCP].seq + 1) / b"hello"
        reply = exchange(ack)
        if reply is None:
            return "silent"
        return "reset" if reply[TCP].flags.R else "alive"

    guard = None
    if spec.get("mode"):
        options = spec.get("options", {})
        if "owned_ports" in spec:
            owned = set(spec["owned_ports"])
            options["owns"] = lambda addr, tport, lport: (addr, tport) == (target_int, port) and lport in owned
        ports = spec.get("local_ports")
        guard = RstGuard(spec["mode"], spec["source"], version, range(*ports) if ports else None, **options)
    results = {}
    with guard or contextlib.nullcontext():
        if "announced_ports" in spec:
            with FlowAnnouncer(guard.announce_endpoint) as announcer:
                for local_port in spec["announced_ports"]:
                    announcer.opened(target_int, port, local_port)
                for local_port in spec.get("closed_ports", []):
                    announcer.closed(target_int, port, local_port)
        for local_port in spec["flows"]:
            results[str(local_port)] = open_flow(local_port, guard)
        results["verdicts"] = verdicts(guard)
    if guard and guard.announce_endpoint:
        results["endpoint_left"] = os.path.exists(guard.announce_endpoint[len("ipc://"):])
    print(json.dumps(results), flush=True)
""")

# Runs in the scanner namespace: installs a guard, says "ready", then ends the way argv[2] says.
HOLDER = textwrap.dedent("""
    import ipaddress, signal, sys
    from lzr.runtime.rstguard import RstGuard
    mode, ending, source = sys.argv[1], sys.argv[2], sys.argv[3]
    owns = (lambda addr, tport, lport: False) if mode == "nfqueue" else None
    guard = RstGuard(mode, source, ipaddress.ip_address(source).version, range(40000, 41000), owns=owns)

    def on_sigterm(signum, frame):
        # What the runtime's handler does: remove at once, then leave through the normal path.
        guard.remove()
        sys.exit(143)

    signal.signal(signal.SIGTERM, on_sigterm)
    with guard:
        print("ready", flush=True)
        if ending == "exception":
            raise RuntimeError("the scan failed")
        if ending == "normal":
            sys.stdin.readline()
        else:
            sys.stdin.read()  # until a signal; EOF if the test process died
""")


def guard_rules(host, iptables="iptables") -> list[str]:
    listing = host.cmd(iptables, "-w", "-S", "OUTPUT").stdout
    return [line for line in listing.splitlines() if "lzr-rstguard" in line]


def rst_count(host, iptables="iptables") -> int:
    """Packets counted by the RST counter rule in `host`'s INPUT chain."""
    listing = host.cmd(iptables, "-w", "-L", "INPUT", "-n", "-v", "-x").stdout
    counter = next(line for line in listing.splitlines() if "RST-COUNT" in line)
    return int(counter.split()[0])


@contextlib.contextmanager
def target_lab(scanner_addr: str, target_addr: str, prefix_len: int):
    """Scanner and target namespaces; a TCP listener on the target; RSTs counted on arrival."""
    iptables = "ip6tables" if ":" in target_addr else "iptables"
    with NetnsLab() as lab:
        scanner, target = lab.add_host("scan"), lab.add_host("tgt")
        lab.link(scanner, target, f"{scanner_addr}/{prefix_len}", f"{target_addr}/{prefix_len}")
        target.cmd(iptables, "-w", "-A", "INPUT", "-s", scanner_addr, "-p", "tcp", "--tcp-flags", "RST", "RST",
                   "-m", "comment", "--comment", "RST-COUNT", "-j", "ACCEPT")
        listener = target.popen(sys.executable, "-c", textwrap.dedent(f"""
            import socket, sys
            server = socket.create_server(("{target_addr}", {PORT}), backlog=64,
                                          family=socket.AF_INET6 if ":" in "{target_addr}" else socket.AF_INET)
            print("listening", flush=True)
            sys.stdin.read()  # listen until the test closes the pipe (or dies)
        """), stdin=-1, stdout=-1, text=True)
        assert listener.stdout.readline().strip() == "listening"
        yield lab
        listing = scanner.cmd("iptables", "-w", "-S", "OUTPUT").stdout + \
            scanner.cmd("ip6tables", "-w", "-S", "OUTPUT").stdout
        assert "lzr-rstguard" not in listing, "a guard rule survived its run"


@pytest.fixture
def lab():
    with target_lab(SCANNER, TARGET, 24) as lab:
        yield lab


def probe(lab, **spec) -> dict:
    spec = dict(dict(target=TARGET, port=PORT, source=SCANNER), **spec)
    result = lab.hosts["scan"].cmd(sys.executable, "-c", PROBE, json.dumps(spec))
    return json.loads(result.stdout)


def test_without_guard_the_kernel_resets_the_flow(lab):
    result = probe(lab, flows=[40001])
    assert result["40001"] == "reset"
    assert rst_count(lab.hosts["tgt"]) >= 1


def test_source_ip_mode_keeps_flows_alive(lab):
    result = probe(lab, mode="source-ip", flows=[40001, 50001])
    assert result["40001"] == result["50001"] == "alive"
    assert rst_count(lab.hosts["tgt"]) == 0


def test_source_ports_mode_guards_only_the_scanner_ports(lab):
    result = probe(lab, mode="source-ports", local_ports=[40000, 41000], flows=[40001, 40999, 50001])
    assert result["40001"] == result["40999"] == "alive"
    assert result["50001"] == "reset"
    assert rst_count(lab.hosts["tgt"]) == 1


def test_source_ports_mode_leaves_kernel_connections_alone(lab):
    """The host's own connection on the same address, outside the range, still sends its RST."""
    scanner, target = lab.hosts["scan"], lab.hosts["tgt"]
    code = textwrap.dedent(f"""
        import socket, struct
        from lzr.runtime.rstguard import RstGuard
        with RstGuard("source-ports", "{SCANNER}", 4, range(40000, 41000)):
            client = socket.create_connection(("{TARGET}", {PORT}), source_address=("{SCANNER}", 50002))
            client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            client.close()  # an abortive close: the kernel sends a RST
    """)
    scanner.cmd(sys.executable, "-c", code)
    assert rst_count(target) == 1


@pytest.mark.parametrize("mode", ["source-ip", "source-ports", "nfqueue"])
def test_ipv6_flows_are_guarded_with_ip6tables(mode):
    with target_lab("fd00:9::1", "fd00:9::2", 64) as lab:
        # nfqueue queues every RST of the address here, so that ownership alone decides.
        options = dict(owned_ports=[40001], local_ports=None) if mode == "nfqueue" else \
            dict(local_ports=[40000, 41000])
        result = probe(lab, target="fd00:9::2", source="fd00:9::1", mode=mode, flows=[40001, 50001], **options)
        assert result["40001"] == "alive"
        assert result["50001"] == ("alive" if mode == "source-ip" else "reset")
        assert rst_count(lab.hosts["tgt"], "ip6tables") == (0 if mode == "source-ip" else 1)


def test_nfqueue_mode_drops_only_rsts_of_owned_flows(lab):
    result = probe(lab, mode="nfqueue", local_ports=None, owned_ports=[40001, 40003],
                   flows=[40001, 40002, 40003])
    assert (result["40001"], result["40002"], result["40003"]) == ("alive", "reset", "alive")
    # Every packet of an alive flow (SYN-ACK, ACK of the data) draws a kernel RST: two or more each.
    dropped, accepted = result["verdicts"]
    assert dropped >= 4 and accepted == 1
    assert rst_count(lab.hosts["tgt"]) == 1


def test_nfqueue_mode_learns_ownership_from_flow_announcements(lab):
    result = probe(lab, mode="nfqueue", announced_ports=[40001, 40002, 40003], closed_ports=[40003],
                   flows=[40001, 40002, 40003, 40004])
    assert (result["40001"], result["40002"]) == ("alive", "alive")
    assert (result["40003"], result["40004"]) == ("reset", "reset")
    dropped, accepted = result["verdicts"]
    assert dropped >= 4 and accepted == 2
    assert result["endpoint_left"] is False
    assert rst_count(lab.hosts["tgt"]) == 2


def test_nfqueue_mode_holds_a_rst_until_a_late_announcement(lab):
    result = probe(lab, mode="nfqueue", options=dict(hold_seconds=5), late_ports=[40001], flows=[40001])
    assert result["40001"] == "alive"
    assert result["verdicts"][1] == 0
    assert rst_count(lab.hosts["tgt"]) == 0


@pytest.fixture
def scanner():
    with NetnsLab() as lab:
        yield lab.add_host("scan")


def start_holder(host, mode: str, ending: str, source: str = SCANNER):
    holder = host.popen(sys.executable, "-c", HOLDER, mode, ending, source, stdin=-1, stdout=-1, stderr=-1,
                        text=True)
    line = holder.stdout.readline().strip()
    assert line == "ready", holder.stderr.read()
    return holder


MODES = ["source-ip", "source-ports", "nfqueue"]


@pytest.mark.parametrize("mode", MODES)
def test_rule_is_removed_after_a_normal_exit(scanner, mode):
    holder = start_holder(scanner, mode, "normal")
    assert len(guard_rules(scanner)) == 1
    holder.communicate("done\n", timeout=30)
    assert holder.returncode == 0
    assert guard_rules(scanner) == []


@pytest.mark.parametrize("mode", MODES)
def test_rule_is_removed_after_an_exception(scanner, mode):
    holder = start_holder(scanner, mode, "exception")
    _, stderr = holder.communicate(timeout=30)
    assert holder.returncode == 1 and "the scan failed" in stderr
    assert guard_rules(scanner) == []


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_rule_is_removed_after_a_signal(scanner, mode, signum):
    holder = start_holder(scanner, mode, "wait")
    assert len(guard_rules(scanner)) == 1
    holder.send_signal(signum)
    holder.communicate(timeout=30)
    # SIGINT: KeyboardInterrupt unwinds the `with`, then Python ends by the signal (-2).
    assert holder.returncode == (143 if signum == signal.SIGTERM else -signal.SIGINT)
    assert guard_rules(scanner) == []


@pytest.mark.parametrize("mode", MODES)
def test_rule_left_by_sigkill_is_removed_by_the_next_run(scanner, mode):
    killed = start_holder(scanner, mode, "wait")
    killed.kill()
    killed.communicate(timeout=30)
    stale = guard_rules(scanner)
    assert len(stale) == 1 and f"pid={killed.pid} " in stale[0]

    holder = start_holder(scanner, mode, "normal")
    rules = guard_rules(scanner)
    assert len(rules) == 1 and f"pid={holder.pid} " in rules[0]
    holder.communicate("done\n", timeout=30)
    assert guard_rules(scanner) == []


def test_ipv6_rule_left_by_sigkill_is_removed_by_the_next_run(scanner):
    killed = start_holder(scanner, "source-ports", "wait", "fd00:9::1")
    killed.kill()
    killed.communicate(timeout=30)
    assert len(guard_rules(scanner, "ip6tables")) == 1
    holder = start_holder(scanner, "source-ports", "normal", "fd00:9::1")
    rules = guard_rules(scanner, "ip6tables")
    assert len(rules) == 1 and f"pid={holder.pid} " in rules[0]
    holder.communicate("done\n", timeout=30)
    assert guard_rules(scanner, "ip6tables") == []


def test_two_runs_keep_each_their_own_rule(scanner):
    first = start_holder(scanner, "source-ports", "normal")
    second = start_holder(scanner, "source-ip", "normal")
    assert len(guard_rules(scanner)) == 2
    first.communicate("done\n", timeout=30)
    rules = guard_rules(scanner)
    assert len(rules) == 1 and f"pid={second.pid} " in rules[0]
    second.communicate("done\n", timeout=30)
    assert guard_rules(scanner) == []


def test_a_busy_queue_number_is_a_clear_error(scanner):
    first = start_holder(scanner, "nfqueue", "normal")
    second = scanner.popen(sys.executable, "-c", HOLDER, "nfqueue", "normal", SCANNER, stdin=-1, stdout=-1,
                           stderr=-1, text=True)
    _, stderr = second.communicate("done\n", timeout=30)
    assert second.returncode == 1 and "RstGuardError" in stderr and "another program may hold it" in stderr
    rules = guard_rules(scanner)
    assert len(rules) == 1 and f"pid={first.pid} " in rules[0]
    first.communicate("done\n", timeout=30)
    assert guard_rules(scanner) == []


def test_not_root_is_a_clear_error(scanner):
    code = textwrap.dedent("""
        from lzr.runtime.rstguard import RstGuard, RstGuardError
        try:
            RstGuard("source-ip", "10.9.0.1", 4).install()
        except RstGuardError as error:
            print(error)
    """)
    result = scanner.cmd("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                         sys.executable, "-c", code)
    assert "run lzr as root" in result.stdout
