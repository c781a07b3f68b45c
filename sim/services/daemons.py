"""Real daemons from Debian, as an alternative to the synthetic services where installed.

Each entry says how to run one daemon in the foreground on a given address and port, with
every file it needs (configuration, keys, pid and temp paths) in a private working
directory, so it touches nothing else on the machine. The services runner starts them for
spec entries with `"daemon": true` (see serve.py): the daemon counts as ready once its port
accepts connections, and is stopped by its pid.

Daemons covered: nginx (http, and tls with a generated certificate), OpenSSH (ssh), Redis,
memcached, dnsmasq (dns), Mosquitto (mqtt) and vsftpd (ftp).
"""
from __future__ import annotations

import shutil
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from lzr_sim.services import certs

WILDCARDS = ("0.0.0.0", "::", "")
NGINX_PAGE = ("<!DOCTYPE html><html><head><title>Welcome to nginx!</title></head>"
              "<body><h1>Welcome to nginx!</h1></body></html>")


@dataclass(frozen=True)
class Daemon:
    label: str
    binary: str
    # (bind address, port, working directory) -> arguments; writes the files the daemon needs.
    prepare: Callable[[str, int, Path], list[str]]

    def path(self) -> str | None:
        """Where the binary is (Debian puts daemons in /usr/sbin, often not on PATH), or None."""
        found = shutil.which(self.binary)
        if found is None and Path("/usr/sbin", self.binary).exists():
            found = str(Path("/usr/sbin", self.binary))
        return found

    def command(self, address: str, port: int, workdir: Path) -> list[str]:
        path = self.path()
        if path is None:
            raise FileNotFoundError(f"{self.binary} is not installed")
        return [path, *self.prepare(address, port, workdir)]


def _nginx_listen(address: str, port: int) -> str:
    if address in WILDCARDS:
        return f"[::]:{port} ipv6only=off" if address == "::" else str(port)
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


def _nginx(tls: bool) -> Callable[[str, int, Path], list[str]]:
    def prepare(address: str, port: int, workdir: Path) -> list[str]:
        listen = _nginx_listen(address, port) + (" ssl" if tls else "")
        certificate = ""
        if tls:
            cert, key = certs.certificate("localhost")
            certificate = f"ssl_certificate {cert}; ssl_certificate_key {key};"
        temp_paths = " ".join(f"{kind}_temp_path {workdir}/{kind};"
                              for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        (workdir / "nginx.conf").write_text(
            f"daemon off; master_process off; pid {workdir}/nginx.pid; error_log stderr;\n"
            "events { worker_connections 256; }\n"
            f"http {{ access_log off; {temp_paths}\n"
            f"  server {{ listen {listen}; {certificate}\n"
            f"    location / {{ default_type text/html; return 200 \"{NGINX_PAGE}\"; }} }} }}\n")
        return ["-p", str(workdir), "-c", str(workdir / "nginx.conf"), "-e", "stderr"]
    return prepare


def _sshd(address: str, port: int, workdir: Path) -> list[str]:
    # sshd refuses to start without its privilege-separation directory, which only the
    # package's init script or systemd's tmpfiles would create.
    os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
    key = workdir / "host_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    listen = ["-o", f"ListenAddress={address}"] if address not in WILDCARDS else []
    return ["-D", "-e", "-f", "/dev/null", "-p", str(port), *listen, "-h", str(key),
            "-o", "PidFile=none"]


def _redis(address: str, port: int, workdir: Path) -> list[str]:
    return ["--port", str(port), "--bind", address or "0.0.0.0", "--save", "", "--appendonly", "no",
            "--daemonize", "no", "--protected-mode", "no", "--dir", str(workdir)]


def _memcached(address: str, port: int, workdir: Path) -> list[str]:
    return ["-l", address or "0.0.0.0", "-p", str(port), "-U", "0", "-u", "nobody"]


def _dnsmasq(address: str, port: int, workdir: Path) -> list[str]:
    listen = [] if address in WILDCARDS else [f"--listen-address={address}", "--bind-interfaces"]
    return ["--keep-in-foreground", "--conf-file=/dev/null", f"--port={port}", *listen,
            "--no-resolv", "--no-hosts", "--address=/#/192.0.2.1", f"--pid-file={workdir}/dnsmasq.pid",
            "--log-facility=-"]


def _mosquitto(address: str, port: int, workdir: Path) -> list[str]:
    bind = "" if address in WILDCARDS else f" {address}"
    (workdir / "mosquitto.conf").write_text(
        f"listener {port}{bind}\nallow_anonymous true\npersistence false\nlog_dest stderr\n")
    return ["-c", str(workdir / "mosquitto.conf")]


def _vsftpd(address: str, port: int, workdir: Path) -> list[str]:
    # vsftpd refuses to run with no kind of login; anonymous read access to an empty
    # directory exposes nothing (local logins would expose the machine's accounts).
    empty, anonymous_root = workdir / "empty", workdir / "pub"
    empty.mkdir(mode=0o555)
    anonymous_root.mkdir(mode=0o555)
    family = "listen_ipv6=YES\nlisten=NO\n" if ":" in address else "listen=YES\n"
    bind = "" if address in WILDCARDS else f"listen_address{'6' if ':' in address else ''}={address}\n"
    (workdir / "vsftpd.conf").write_text(
        f"{family}{bind}listen_port={port}\nbackground=NO\nlocal_enable=NO\nwrite_enable=NO\n"
        f"anonymous_enable=YES\nanon_root={anonymous_root}\nno_anon_password=YES\n"
        f"secure_chroot_dir={empty}\nseccomp_sandbox=NO\nvsftpd_log_file={workdir}/vsftpd.log\n")
    return [str(workdir / "vsftpd.conf")]


DAEMONS: dict[str, Daemon] = {daemon.label: daemon for daemon in (
    Daemon("http", "nginx", _nginx(tls=False)),
    Daemon("tls", "nginx", _nginx(tls=True)),
    Daemon("ssh", "sshd", _sshd),
    Daemon("redis", "redis-server", _redis),
    Daemon("memcached_ascii", "memcached", _memcached),
    Daemon("memcached_binary", "memcached", _memcached),
    Daemon("dns", "dnsmasq", _dnsmasq),
    Daemon("mqtt", "mosquitto", _mosquitto),
    Daemon("ftp", "vsftpd", _vsftpd),
)}
