"""The population generator: seeded determinism, profile properties, the manifest schema."""
import ipaddress
import json

import pytest

from lzr_sim.manifest import Manifest, ManifestError, from_dict
from lzr_sim.population import (IANA_PORTS, PROTOCOLS, Options, catalogue, generate, needed_handshakes)


def test_same_seed_same_manifest_and_other_seed_differs():
    first = generate("unexpected", hosts=20, seed=7)
    assert generate("unexpected", hosts=20, seed=7).to_json() == first.to_json()
    assert generate("unexpected", hosts=20, seed=8).to_json() != first.to_json()


def test_manifest_round_trips_through_json():
    manifest = generate("uniform", hosts=12, seed=3)
    assert Manifest.from_json(manifest.to_json()) == manifest


def test_unexpected_profile_is_mostly_http_and_tls_off_their_ports():
    manifest = generate("unexpected", hosts=200, seed=1)
    services = [s for _, _, s in manifest.targets() if s.protocol]
    web = [s for s in services if s.protocol in ("http", "tls")]
    assert len(web) / len(services) > 0.8
    off_port = [s for s in services if s.port != PROTOCOLS[s.protocol].port]
    assert 0.7 < len(off_port) / len(services) < 0.9
    # Off their port they land on random high ports, never on another protocol's port.
    assert all(s.port >= 1024 and s.port not in IANA_PORTS for s in off_port)
    assert {"ipp", "kubernetes"}.isdisjoint(manifest.protocols())


def test_iana_profile_puts_every_service_on_its_assigned_port():
    manifest = generate("iana", hosts=40, seed=2)
    for host in manifest.hosts:
        for service in host.services:
            if service.protocol:
                assert service.port == PROTOCOLS[service.protocol].port


def test_uniform_profile_spreads_protocols_and_ports():
    manifest = generate("uniform", hosts=200, seed=4)
    protocols = [s.protocol for _, _, s in manifest.targets() if s.protocol]
    assert len(set(protocols)) >= len(PROTOCOLS) - 2
    assert max(protocols.count(p) for p in set(protocols)) < 0.1 * len(protocols)
    assert any(port < 1024 for _, port, _ in manifest.targets())


def test_hard_cases_are_present_and_not_identifiable():
    manifest = generate("unexpected", hosts=50, seed=1)
    behaviours = {h.behaviour for h in manifest.hosts}
    assert {"zero-window", "acking-firewall"} <= behaviours
    service_behaviours = {s.behaviour for _, _, s in manifest.targets()}
    assert {"rst", "no-ack", "slow-banner"} <= service_behaviours
    for host in manifest.hosts:
        for service in host.services:
            if host.behaviour == "zero-window":
                assert not service.identifiable and service.expect["window"] == 0
            if host.behaviour == "acking-firewall":
                assert not service.identifiable and service.expect == {"ackingFirewall": True}
            if service.behaviour == "rst":
                assert not service.identifiable and service.expect["RST"] is True
            if service.behaviour == "slow-banner":
                assert service.identifiable and PROTOCOLS[service.protocol].server_first


def test_no_hard_cases_when_fractions_are_zero():
    options = Options(host_hard_cases={}, service_hard_cases={})
    manifest = generate("unexpected", hosts=30, seed=1, options=options)
    assert all(s.identifiable and s.behaviour == "normal" for _, _, s in manifest.targets())


def test_hundred_hosts_give_about_three_hundred_services():
    assert 250 <= len(generate("unexpected", hosts=100, seed=1).targets()) <= 350


def test_addresses_are_unique_and_inside_the_lab():
    lab = ipaddress.ip_network("198.18.0.0/15")
    for topology in ("routed", "sparse"):
        manifest = generate("unexpected", hosts=60, seed=5, options=Options(topology=topology))
        addresses = [h.address for h in manifest.hosts]
        assert len(set(addresses)) == len(addresses)
        assert all(ipaddress.ip_address(a) in lab for a in addresses)


def test_sparse_hosts_share_few_nodes_and_stay_normal():
    manifest = generate("unexpected", hosts=30, seed=1, options=Options(topology="sparse", sparse_nodes=3))
    assert manifest.nodes() == ["p1", "p2", "p3"]
    assert all(h.behaviour == "normal" for h in manifest.hosts)


def test_sparse_no_ack_ports_are_not_shared_within_a_node():
    manifest = generate("iana", hosts=60, seed=2, options=Options(topology="sparse", sparse_nodes=2))
    ports = [(h.node, s.port) for h in manifest.hosts for s in h.services]
    no_ack = [(h.node, s.port) for h in manifest.hosts for s in h.services if s.behaviour == "no-ack"]
    assert no_ack and all(ports.count(pair) == 1 for pair in no_ack)


def test_needed_handshakes_add_only_what_wait_http_tls_cannot_name():
    manifest = generate("unexpected", hosts=50, seed=1)
    handshakes = needed_handshakes(manifest)
    assert handshakes[0] == "wait" and {"http", "tls"} <= set(handshakes)
    identifiable = {s.protocol for _, _, s in manifest.targets() if s.identifiable}
    extra = set(handshakes) - {"wait", "http", "tls"}
    assert extra == {p for p in identifiable - {"http", "tls"} if not PROTOCOLS[p].server_first}


def test_protocols_misread_by_web_probes_get_their_own_probe_first():
    manifest = from_dict({"version": 1, "topology": "routed", "hosts": [
        {"name": "h1", "address": "198.18.0.10", "node": "h1", "services": [
            {"port": 1, "protocol": "mqtt"}, {"port": 2, "protocol": "redis"},
            {"port": 3, "protocol": "http"}, {"port": 4, "protocol": "ssh"}]}]})
    assert needed_handshakes(manifest) == ["wait", "redis", "http", "tls", "mqtt"]


def _minimal(**service):
    return {"version": 1, "topology": "routed",
            "hosts": [{"name": "h1", "address": "198.18.0.10", "node": "h1",
                       "services": [{"port": 80, "protocol": "http", **service}]}]}


def test_schema_accepts_a_minimal_manifest_with_defaults():
    manifest = from_dict(_minimal())
    service = manifest.service_at("198.18.0.10", 80)
    assert service.identifiable and service.behaviour == "normal"


@pytest.mark.parametrize("bad, message", [
    ({"port": 0}, "port"),
    ({"behaviour": "teleport"}, "behaviour"),
    ({"protocol": None, "identifiable": True}, "identifiable"),
    ({"expect": "http"}, "expect"),
])
def test_schema_rejects_bad_services(bad, message):
    with pytest.raises(ManifestError, match=message):
        from_dict(_minimal(**bad))


def test_schema_rejects_duplicate_targets_and_bad_topology():
    data = _minimal()
    data["hosts"][0]["services"].append({"port": 80, "protocol": "tls"})
    with pytest.raises(ManifestError, match="duplicate"):
        from_dict(data)
    with pytest.raises(ManifestError, match="topology"):
        from_dict({**_minimal(), "topology": "mesh"})


def test_saved_manifest_is_plain_json(tmp_path):
    path = tmp_path / "manifest.json"
    generate("iana", hosts=3, seed=1).save(path)
    data = json.loads(path.read_text())
    assert set(data) >= {"version", "profile", "seed", "topology", "hosts"}
    assert set(data["hosts"][0]["services"][0]) == {"port", "protocol", "behaviour", "identifiable", "expect"}


def test_catalogue_has_each_protocol_off_its_port():
    manifest = catalogue(["http", "ssh", "redis", "mqtt"], copies=2, seed=3, per_host=3)
    services = [s for _, _, s in manifest.targets()]
    assert sorted(s.protocol for s in services) == ["http", "http", "mqtt", "mqtt", "redis", "redis", "ssh", "ssh"]
    assert all(s.identifiable and s.port not in IANA_PORTS for s in services)
    assert [len(h.services) for h in manifest.hosts] == [3, 3, 2]
    assert catalogue(["http", "ssh", "redis", "mqtt"], copies=2, seed=3, per_host=3) == manifest
    with pytest.raises(ValueError, match="gopher"):
        catalogue(["gopher"])


def test_the_manifest_takes_its_behaviour_names_from_the_registry():
    from lzr_sim.behaviours import BEHAVIOURS, HOST_BEHAVIOURS, PORT_BEHAVIOURS
    assert set(HOST_BEHAVIOURS) | set(PORT_BEHAVIOURS) == {"normal"} | {
        name for name, cls in BEHAVIOURS.items() if cls.scope in ("host", "port")}
    for name in ("loss", "delay", "reset"):
        with pytest.raises(ManifestError, match="behaviour must be one of"):
            from_dict({"version": 1, "topology": "routed", "hosts": [
                {"name": "h1", "address": "198.18.0.10", "node": "h1", "services": [
                    {"port": 80, "protocol": None, "behaviour": name, "identifiable": False}]}]})


def test_every_generated_expectation_comes_from_the_registry():
    from lzr_sim.behaviours import expected_record
    manifest = generate("unexpected", hosts=50, seed=6)
    for host in manifest.hosts:
        for service in host.services:
            case = host.behaviour if host.behaviour != "normal" else service.behaviour
            assert service.expect == expected_record(case, service.protocol)
            assert service.identifiable == (service.expect == {"fingerprint": service.protocol})


def test_daemon_tier_is_seeded_and_runs_one_daemon_per_host_off_its_port():
    from lzr_sim.daemons import DAEMONS
    from lzr_sim.population import DAEMON_TIER_LABELS, daemon_tier
    tier = daemon_tier(seed=3)
    assert tier.to_json() == daemon_tier(seed=3).to_json() != daemon_tier(seed=4).to_json()
    assert Manifest.from_json(tier.to_json()) == tier
    daemons = [service for _, _, service in tier.targets() if service.daemon]
    assert sorted(service.protocol for service in daemons) == sorted(DAEMON_TIER_LABELS)
    assert set(DAEMON_TIER_LABELS) <= set(DAEMONS) and len({DAEMONS[label].package for label in DAEMON_TIER_LABELS}) >= 15
    assert all(service.identifiable and service.port not in IANA_PORTS and service.port >= 1024 for service in daemons)
    ports = [port for _, port, _ in tier.targets()]
    assert len(ports) == len(set(ports))


def test_daemon_tier_hard_cases_expect_what_a_correct_scanner_records():
    from lzr_sim.population import daemon_tier
    expected = {}
    for host in daemon_tier().hosts:
        for service in host.services:
            if not service.identifiable:
                case = host.behaviour if host.behaviour != "normal" else service.behaviour
                expected.setdefault(case, []).append(service.expect)
    assert expected == {
        "silent": [{"ACKed": True, "fingerprint": "unknown"}],
        "rst": [{"RST": True, "fingerprint": "unknown"}],
        "closed": [{"RST": True, "fingerprint": "unknown"}],
        "filtered": [{"expectedRToLZR": "sa", "fingerprint": "unknown"}],
        "acking-firewall": [{"ackingFirewall": True}] * 5,
    }


def test_daemon_tier_listens_where_it_should():
    from pathlib import Path

    from lzr_sim.network import node_behaviours
    from lzr_sim.population import daemon_tier
    from lzr_sim.runners import runner_specs
    tier = daemon_tier()
    specs = runner_specs(tier, Path("/run-dir"))
    by_port = {entry["port"]: entry for entries in specs.values() for entry in entries}
    for host in tier.hosts:
        for service in host.services:
            entry = by_port.get(service.port)
            if service.daemon:
                assert entry["daemon"] and entry["state_dir"] == f"/run-dir/daemons/{host.node}"
            elif host.behaviour == "acking-firewall" or service.behaviour in ("closed", "filtered"):
                assert entry is None
            else:
                assert entry["mode"] == {"silent": "silent", "rst": "reset"}[service.behaviour]
    installed = {node: [type(b).__name__ for b in behaviours] for node, behaviours in node_behaviours(tier).items()}
    assert sorted(installed.values()) == [["AckingFirewall"], ["Filtered"]]


@pytest.mark.parametrize("service, message", [
    ({"port": 80, "protocol": "http", "daemon": "yes"}, "daemon must be a boolean"),
    ({"port": 80, "protocol": "ajp13", "daemon": True}, "a daemon needs"),
    ({"port": 80, "protocol": "http", "behaviour": "slow-banner", "daemon": True}, "a daemon needs"),
])
def test_schema_checks_daemon_services(service, message):
    with pytest.raises(ManifestError, match=message):
        from_dict({"version": 1, "topology": "routed", "hosts": [
            {"name": "h1", "address": "198.18.0.10", "node": "h1", "services": [service]}]})


def test_manifests_without_daemons_read_and_write_as_before():
    manifest = from_dict({"version": 1, "topology": "routed", "hosts": [
        {"name": "h1", "address": "198.18.0.10", "node": "h1", "services": [{"port": 80, "protocol": "http"}]}]})
    assert "daemon" not in manifest.to_json()
