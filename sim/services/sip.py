"""SIP server over TCP, imitating Asterisk's PJSIP stack (RFC 3261: §7 message format,
§8.2.6 response construction, §11.2 OPTIONS, §20 header fields, §22 digest challenges).

Requests use the HTTP-like syntax with the version "SIP/2.0" and must carry Via, From, To,
Call-ID and CSeq; a request without them gets 400. Responses copy Via, From, Call-ID and
CSeq and add a tag to To. OPTIONS answers 200 with Allow, Accept and Supported; REGISTER,
INVITE and SUBSCRIBE answer 401 with a digest challenge (no account is known); ACK is not
answered; other methods get 405. A request line that is not SIP closes the connection
(SIP over TCP has no way to answer a stranger).

Options: `user_agent` (default "Asterisk PBX 20.5.0").
"""
from __future__ import annotations

import os

from lzr_sim.services.base import Service, send
from lzr_sim.services.httpmsg import BadRequest, read_request, response

ALLOW = ("OPTIONS, REGISTER, SUBSCRIBE, NOTIFY, PUBLISH, INVITE, ACK, BYE, CANCEL, UPDATE, PRACK, "
         "MESSAGE, REFER")
MANDATORY = ("via", "from", "to", "call-id", "cseq")
CHALLENGED = ("REGISTER", "INVITE", "SUBSCRIBE")


class SipService(Service):
    label = "sip"

    async def serve(self, reader, writer):
        server = self.options.get("user_agent", "Asterisk PBX 20.5.0")
        tag = os.urandom(6).hex()
        while True:
            try:
                request = await read_request(reader, ("SIP/2.0",))
            except BadRequest:
                return
            if request is None:
                return
            if any(name not in request.headers for name in MANDATORY):
                await send(writer, response("SIP/2.0", 400, "Missing Mandatory Header", [("Server", server)]))
                continue
            if request.method == "ACK":
                continue
            to = request.headers["to"]
            copied = [("Via", request.headers["via"]), ("From", request.headers["from"]),
                      ("To", to if ";tag=" in to else f"{to};tag={tag}"),
                      ("Call-ID", request.headers["call-id"]), ("CSeq", request.headers["cseq"]),
                      ("Server", server)]
            if request.method == "OPTIONS":
                message = response("SIP/2.0", 200, "OK", copied + [
                    ("Allow", ALLOW), ("Accept", "application/sdp"),
                    ("Supported", "100rel, timer, replaces, norefersub")])
            elif request.method in CHALLENGED:
                nonce = os.urandom(16).hex()
                message = response("SIP/2.0", 401, "Unauthorized", copied + [
                    ("WWW-Authenticate",
                     f'Digest realm="asterisk",nonce="{nonce}",algorithm=MD5,qop="auth"')])
            else:
                message = response("SIP/2.0", 405, "Method Not Allowed", copied + [("Allow", ALLOW)])
            await send(writer, message)
