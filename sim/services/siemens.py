"""Siemens S7 PLC's ISO-on-TCP connection, imitating an S7-300/400 CPU (RFC 1006 TPKT,
ITU-T X.224 class 0 COTP, then S7comm "Setup Communication").

A COTP Connection Request is confirmed with a CC that echoes the client's source reference
and its parameters (TPDU size, calling and called TSAP), as the CPU's CP does. Then a COTP
data TPDU carrying an S7comm job "Setup Communication" (function 0xF0) is acknowledged
with the negotiated PDU length (at most 240 bytes) and AMQ values; other S7 jobs get an
ack-data with error class 0x81/0x04 (function not supported). Anything that is not TPKT/COTP
closes the connection, as the CPU does.
"""
from __future__ import annotations

import struct

from lzr_sim.services.base import ProtocolError, Service, send
from lzr_sim.services.tpkt import DT_TPDU, connection_confirm, read_connection_request, read_tpkt, tpkt

CPU_REFERENCE = 0x0001
S7_PROTOCOL_ID = 0x32
ROSCTR_JOB, ROSCTR_ACK_DATA = 0x01, 0x03
FUNCTION_SETUP_COMMUNICATION = 0xF0
MAX_PDU_LENGTH = 240


def s7_ack_data(job: bytes) -> bytes:
    """The S7 ack-data answering the job message `job` (S7 header + parameters)."""
    if len(job) < 10 or job[0] != S7_PROTOCOL_ID or job[1] != ROSCTR_JOB:
        raise ProtocolError("not an S7 job")
    reference, parameter_length = struct.unpack_from(">HH", job, 4)
    parameters = job[10:10 + parameter_length]
    if parameters[:1] == bytes([FUNCTION_SETUP_COMMUNICATION]) and len(parameters) >= 8:
        amq_calling, amq_called, pdu_length = struct.unpack_from(">HHH", parameters, 2)
        reply_parameters = struct.pack(">BBHHH", FUNCTION_SETUP_COMMUNICATION, 0, min(amq_calling, 1),
                                       min(amq_called, 1), min(pdu_length, MAX_PDU_LENGTH))
        error_class = error_code = 0
    else:
        reply_parameters = parameters[:1]
        error_class, error_code = 0x81, 0x04
    return struct.pack(">BBHHHHBB", S7_PROTOCOL_ID, ROSCTR_ACK_DATA, 0, reference, len(reply_parameters), 0,
                       error_class, error_code) + reply_parameters


class SiemensService(Service):
    label = "siemens"

    async def serve(self, reader, writer):
        request = await read_connection_request(reader)
        if request is None:
            return
        await send(writer, tpkt(connection_confirm(request, CPU_REFERENCE, request.variable_part)))
        while (payload := await read_tpkt(reader)) is not None:
            # COTP DT: length indicator 2, code 0xF0, EOT flag; the S7 message follows.
            if len(payload) < 3 or payload[1] != DT_TPDU:
                raise ProtocolError("not a COTP data TPDU")
            await send(writer, tpkt(bytes([2, DT_TPDU, 0x80]) + s7_ack_data(payload[3:])))
