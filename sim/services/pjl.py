"""A network printer's raw printing port (port 9100 "JetDirect"), imitating an HP LaserJet
(HP PJL Technical Reference Manual: UEL, @PJL INFO, @PJL ECHO, @PJL USTATUS).

Everything sent to the port is a print job. Lines starting with "@PJL" are PJL commands:
INFO ID answers the command echoed and the model in quotes, INFO STATUS the status code
and display text, ECHO echoes its words; each answer ends with a form feed. Other PJL
commands are accepted silently. The Universal Exit Language sequence is skipped, and
every other byte (a PostScript or PCL job, or any stray probe) is consumed without an
answer, as a printer prints it.

Options: `model` (default "HP LaserJet 4250").
"""
from __future__ import annotations

from lzr_sim.services.base import Service, read_line, send

UEL = b"\x1b%-12345X"
FORM_FEED = b"\x0c"


class PjlService(Service):
    label = "pjl"

    def answer(self, command: bytes) -> bytes:
        words = command.split()
        upper = [word.upper() for word in words]
        if upper[1:3] == [b"INFO", b"ID"]:
            model = self.options.get("model", "HP LaserJet 4250").encode()
            return b"@PJL INFO ID\r\n\"" + model + b"\"\r\n" + FORM_FEED
        if upper[1:3] == [b"INFO", b"STATUS"]:
            return b"@PJL INFO STATUS\r\nCODE=10001\r\nDISPLAY=\"Ready\"\r\nONLINE=TRUE\r\n" + FORM_FEED
        if upper[1:2] == [b"ECHO"]:
            return b"@PJL " + b" ".join(words[1:]) + b"\r\n" + FORM_FEED
        return b""

    async def serve(self, reader, writer):
        while line := await read_line(reader, limit=1 << 20):
            while line.startswith(UEL):
                line = line[len(UEL):]
            if line.upper().startswith(b"@PJL"):
                reply = self.answer(line.strip())
                if reply:
                    await send(writer, reply)
