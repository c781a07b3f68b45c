"""The protocol table of lzr_sim.population agrees with the synthetic services: it lists every
service, says which speak first, and `Protocol.misread_by_web_probes` tells the truth.

Every synthetic service that does not speak first gets the scanner's HTTP GET and TLS
ClientHello over loopback; a protocol is misread when the first answer to either is labelled
as another protocol. That decides whether its own probe must go before http,tls
(lzr_sim.population.needed_handshakes).
"""
import asyncio
import json

from lzr.fingerprint import fingerprint
from lzr.handshakes import REGISTRY
from lzr_sim.population import LAYERED_ON_HTTP_OR_TLS, PROTOCOLS
from lzr_sim.services.serve import Runner, parse_spec

LOOPBACK = "127.0.0.1"
ANSWER_TIMEOUT = 1.5


async def first_answer(port: int, probe: bytes) -> bytes:
    try:
        reader, writer = await asyncio.open_connection(LOOPBACK, port)
    except OSError:
        return b""
    try:
        writer.write(probe)
        await writer.drain()
        return await asyncio.wait_for(reader.read(4096), ANSWER_TIMEOUT)
    except (OSError, asyncio.TimeoutError):
        return b""
    finally:
        writer.close()


async def labels_given(protocols: list[str]) -> dict[str, set[str]]:
    runner = Runner(parse_spec(json.dumps([{"address": LOOPBACK, "port": 0, "protocol": p} for p in protocols])))
    ports = await runner.start()
    try:
        probes = [REGISTRY[name].probe(LOOPBACK) for name in ("http", "tls")]
        answers = await asyncio.gather(*(first_answer(port, probe) for port in ports for probe in probes))
    finally:
        await runner.close()
    given: dict[str, set[str]] = {p: set() for p in protocols}
    for index, data in enumerate(answers):
        if data:
            given[protocols[index // len(probes)]].add(fingerprint(data))
    return given


def test_misread_flags_match_what_the_services_answer():
    protocols = [name for name, p in PROTOCOLS.items()
                 if not p.server_first and name not in LAYERED_ON_HTTP_OR_TLS]
    given = asyncio.run(labels_given(protocols))
    misread = {p for p, labels in given.items() if labels - {p, "unknown"}}
    flagged = {p for p in protocols if PROTOCOLS[p].misread_by_web_probes}
    assert misread == flagged, {p: sorted(given[p]) for p in misread ^ flagged}


def test_the_protocol_table_covers_every_service():
    from lzr_sim.services import SERVICES
    assert set(PROTOCOLS) == set(SERVICES), "add new services to lzr_sim.population.PROTOCOLS"
    assert {name for name, p in PROTOCOLS.items() if p.server_first} == \
        {name for name, service in SERVICES.items() if service.speaks_first}
