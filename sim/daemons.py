"""Real daemons from Debian, run where the synthetic services would run.

Each entry says how to run one daemon in the foreground on a given address and port, with
every file it needs in its own directory (`DaemonDirectory`): configuration in `conf/`,
databases, queues and keys in `data/`, sockets and pid files in `run/`, logs in `log/`.
The services runner starts them for spec entries with `"daemon": true` (serve.py), in their
own process group, as the user the daemon expects; a daemon counts as ready once its port
accepts connections, and is stopped with its whole process group when the runner stops,
which then removes `data/` and `run/` and keeps the configuration and the logs. The
runner writes the daemon's pid and start time to `pid` in its directory, so a run whose
runner was killed still finds it (lzr_sim.runs).

`DAEMONS` maps the fingerprint label a daemon's answers get to the daemon; the Debian
package of each is in `package` (ci/setup installs them all, without letting the packages
start their own copies). docs/sim-services.md lists them.
"""
from __future__ import annotations

import os
import pwd
import secrets
import shutil
import signal
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

WILDCARDS = ("0.0.0.0", "")  # the daemons listen on IPv4 (the runner refuses IPv6 addresses)
NGINX_PAGE = ("<!DOCTYPE html><html><head><title>Welcome to nginx!</title></head>"
              "<body><h1>Welcome to nginx!</h1></body></html>")
SERVER_NAME = "lab.example"
POSTGRES_BIN = Path("/usr/lib/postgresql/15/bin")


@dataclass
class DaemonDirectory:
    """Where one daemon keeps its files; the subdirectories exist once it is made."""
    root: Path
    address: str
    port: int
    conf: Path = field(init=False)   # configuration
    data: Path = field(init=False)   # databases, queues, keys
    run: Path = field(init=False)    # sockets, pid files
    log: Path = field(init=False)    # its logs, stdout and stderr

    def __post_init__(self) -> None:
        self.conf, self.data, self.run, self.log = (self.root / part for part in ("conf", "data", "run", "log"))

    def make(self, owner: str | None) -> None:
        for path in (self.conf, self.data, self.run, self.log):
            path.mkdir(parents=True, exist_ok=True)
            if owner:
                user = pwd.getpwnam(owner)
                os.chown(path, user.pw_uid, user.pw_gid)

    def discard_state(self) -> None:
        """Remove what the daemon kept while it ran; configuration and logs stay."""
        for path in (self.data, self.run):
            shutil.rmtree(path, ignore_errors=True)

    def bind_address(self, wildcard: str = "0.0.0.0") -> str:
        return wildcard if self.address in WILDCARDS else self.address


@dataclass(frozen=True)
class Daemon:
    label: str          # the fingerprint label of its answers
    package: str        # the Debian package that installs it
    binary: str         # its program: a name on PATH or in /usr/sbin, or an absolute path
    # Writes the files the daemon needs into the directory; returns its arguments.
    prepare: Callable[[DaemonDirectory], list[str]]
    user: str | None = None                 # run as this user (None: root; the daemon drops privileges itself)
    owner: str | None = None                # who owns data/, run/ and log/ (default: `user`)
    stop_signal: int = signal.SIGTERM       # the signal that makes it shut down at once
    helpers: tuple[str, ...] = ()           # other programs it needs to run

    def path(self) -> str | None:
        """Where the binary is, or None when it or one of its helpers is not installed."""
        if any(_find(helper) is None for helper in self.helpers):
            return None
        return _find(self.binary)

    def version(self) -> str:
        """The installed version of its Debian package, or '' when it is not installed."""
        result = subprocess.run(["dpkg-query", "-W", "-f=${Version}", self.package], capture_output=True, text=True)
        return result.stdout.strip() if result.returncode == 0 else ""

    def command(self, directory: DaemonDirectory) -> list[str]:
        path = self.path()
        if path is None:
            raise FileNotFoundError(f"the {self.label} daemon is not installed (Debian package {self.package}; "
                                    "ci/setup installs it)")
        directory.make(self.owner or self.user)
        return [path, *self.prepare(directory)]


def _find(program: str) -> str | None:
    """A program's path: absolute, on PATH, or in /usr/sbin (where Debian puts daemons, often
    not on PATH); None when it is not there."""
    if os.path.isabs(program):
        return program if os.access(program, os.X_OK) else None
    found = shutil.which(program)
    if found is None and os.access(f"/usr/sbin/{program}", os.X_OK):
        found = f"/usr/sbin/{program}"
    return found


def _certificate(d: DaemonDirectory, common_name: str) -> tuple[str, str]:
    """A self-signed certificate and its key, made in the daemon's data directory."""
    cert, key = str(d.data / "cert.pem"), str(d.data / "key.pem")
    _run_as(None, "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "365",
            "-subj", f"/CN={common_name}", "-keyout", key, "-out", cert)
    return cert, key


def _run_as(user: str | None, *argv: str) -> None:
    """Run a set-up command (as `user`); raise with its output when it fails."""
    result = subprocess.run(["runuser", "-u", user, "--", *argv] if user else list(argv),
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise OSError(f"{' '.join(argv)} failed ({result.returncode}): {(result.stderr or result.stdout).strip()[-500:]}")


# -- web ----------------------------------------------------------------------------------------

def _nginx(tls: bool) -> Callable[[DaemonDirectory], list[str]]:
    def prepare(d: DaemonDirectory) -> list[str]:
        listen = f"{d.bind_address()}:{d.port}" + (" ssl" if tls else "")
        certificate = ""
        if tls:
            cert, key = _certificate(d, "localhost")
            certificate = f"ssl_certificate {cert}; ssl_certificate_key {key};"
        temp_paths = " ".join(f"{kind}_temp_path {d.data}/{kind};"
                              for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        (d.conf / "nginx.conf").write_text(
            f"daemon off; master_process off; pid {d.run}/nginx.pid; error_log {d.log}/error.log;\n"
            "events { worker_connections 256; }\n"
            f"http {{ access_log {d.log}/access.log; {temp_paths}\n"
            f"  server {{ listen {listen}; {certificate}\n"
            f"    location / {{ default_type text/html; return 200 \"{NGINX_PAGE}\"; }} }} }}\n")
        return ["-p", str(d.data), "-c", str(d.conf / "nginx.conf"), "-e", str(d.log / "error.log")]
    return prepare


# -- remote access ------------------------------------------------------------------------------

def _sshd(d: DaemonDirectory) -> list[str]:
    # OpenSSH's privilege separation directory is compiled in; its package leaves making it to
    # systemd. An empty root-owned directory, as systemd would make it.
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    key = d.data / "host_ed25519"
    _run_as(None, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key))
    listen = ["-o", f"ListenAddress={d.address}"] if d.address not in WILDCARDS else []
    return ["-D", "-E", str(d.log / "sshd.log"), "-f", "/dev/null", "-p", str(d.port), *listen, "-h", str(key),
            "-o", "PidFile=none"]


def _telnetd(d: DaemonDirectory) -> list[str]:
    # inetutils telnetd runs per connection from a super-server; socat accepts and hands it
    # the connection as its stdin and stdout. Its login program only prints a prompt: the
    # emulated network offers no real logins.
    login = d.conf / "login"
    login.write_text("#!/bin/sh\nprintf 'lab login: '\nread -r _ || exit 0\necho 'Login incorrect'\n")
    login.chmod(0o755)
    telnetd = _find("telnetd")
    listen = f"TCP-LISTEN:{d.port},reuseaddr,fork" + ("" if d.address in WILDCARDS else f",bind={d.address}")
    return ["-lf", str(d.log / "socat.log"), listen, f"EXEC:{telnetd} --exec-login={login},nofork"]


def _xrdp(d: DaemonDirectory) -> list[str]:
    cert, key = _certificate(d, SERVER_NAME)
    _run_as(None, "xrdp-keygen", "xrdp", str(d.data / "rsakeys.ini"))
    (d.conf / "xrdp.ini").write_text(
        "[Globals]\nini_version=1\nfork=true\n"
        f"port=tcp://{d.bind_address()}:{d.port}\n"
        "use_vsock=false\ntcp_nodelay=true\ntcp_keepalive=true\n"
        "security_layer=negotiate\ncrypt_level=high\n"
        f"certificate={cert}\nkey_file={key}\nssl_protocols=TLSv1.2, TLSv1.3\n"
        f"rsakeys_ini={d.data / 'rsakeys.ini'}\n"
        "autorun=\nallow_channels=true\nmax_bpp=32\n"
        "[Logging]\n"
        f"LogFile={d.log / 'xrdp.log'}\nLogLevel=INFO\nEnableSyslog=false\n"
        "[Channels]\n"
        "[Xorg]\nname=Xorg\nlib=libxup.so\nusername=ask\npassword=ask\nip=127.0.0.1\nport=-1\ncode=20\n")
    return ["--nodaemon", "--config", str(d.conf / "xrdp.ini")]


# -- files and mail -----------------------------------------------------------------------------

def _vsftpd(d: DaemonDirectory) -> list[str]:
    # vsftpd refuses to run with no kind of login; anonymous read access to an empty
    # directory exposes nothing (local logins would expose the machine's accounts).
    empty, anonymous_root = d.data / "empty", d.data / "pub"
    empty.mkdir(mode=0o555)
    anonymous_root.mkdir(mode=0o555)
    bind = "" if d.address in WILDCARDS else f"listen_address={d.address}\n"
    (d.conf / "vsftpd.conf").write_text(
        f"listen=YES\n{bind}listen_port={d.port}\nbackground=NO\nlocal_enable=NO\nwrite_enable=NO\n"
        f"anonymous_enable=YES\nanon_root={anonymous_root}\nno_anon_password=YES\n"
        f"secure_chroot_dir={empty}\nseccomp_sandbox=NO\nvsftpd_log_file={d.log}/vsftpd.log\n")
    return [str(d.conf / "vsftpd.conf")]


def _postfix(d: DaemonDirectory) -> list[str]:
    # Postfix's own master in the foreground (-d) with a private configuration directory
    # (-c): an smtpd on the port and the internal services it needs, no chroot, no relaying.
    queue = d.data / "queue"
    (d.conf / "main.cf").write_text(
        "compatibility_level = 3.6\n"
        f"queue_directory = {queue}\ndata_directory = {d.data / 'lib'}\n"
        "mail_owner = postfix\nsetgid_group = postdrop\n"
        f"myhostname = mail.{SERVER_NAME}\nmydestination =\nmynetworks = 127.0.0.0/8\n"
        f"inet_interfaces = {d.bind_address('all')}\ninet_protocols = ipv4\n"
        "smtpd_relay_restrictions = reject_unauth_destination\n"
        f"maillog_file = {d.log / 'maillog'}\nmaillog_file_prefixes = {d.log}\n"
        "alias_maps =\nalias_database =\nbiff = no\n")
    services = ["pickup unix n - n 60 1 pickup", "cleanup unix n - n - 0 cleanup", "qmgr unix n - n 300 1 qmgr",
                "rewrite unix - - n - - trivial-rewrite", "bounce unix - - n - 0 bounce",
                "defer unix - - n - 0 bounce", "trace unix - - n - 0 bounce", "verify unix - - n - 1 verify",
                "flush unix n - n 1000? 0 flush", "proxymap unix - - n - - proxymap",
                "smtp unix - - n - - smtp", "relay unix - - n - - smtp", "showq unix n - n - - showq",
                "error unix - - n - - error", "retry unix - - n - - error", "discard unix - - n - - discard",
                "local unix - n n - - local", "anvil unix - - n - 1 anvil", "scache unix - - n - 1 scache",
                "postlog unix-dgram n - n - 1 postlogd"]
    (d.conf / "master.cf").write_text(f"{d.port} inet n - n - - smtpd\n" + "\n".join(services) + "\n")
    queue.mkdir()
    _run_as(None, "postfix", "-c", str(d.conf), "check")  # makes the queue's subdirectories
    return ["-c", str(d.conf), "-d"]


def _dovecot(protocol: str) -> Callable[[DaemonDirectory], list[str]]:
    def prepare(d: DaemonDirectory) -> list[str]:
        listener = "imap" if protocol == "imap" else "pop3"
        (d.conf / "dovecot.conf").write_text(
            f"protocols = {protocol}\nlisten = {d.bind_address('*')}\n"
            f"base_dir = {d.run}\nstate_dir = {d.data}\n"
            f"log_path = {d.log / 'dovecot.log'}\ninfo_log_path = {d.log / 'dovecot.log'}\n"
            "ssl = no\ndisable_plaintext_auth = yes\nauth_mechanisms = plain\n"
            f"mail_location = maildir:{d.data}/mail/%u\n"
            "passdb {\n  driver = static\n  args = nopassword=no password=\n}\n"
            "userdb {\n  driver = static\n  args = uid=nobody gid=nogroup home=/nonexistent\n}\n"
            f"service {listener}-login {{\n  inet_listener {listener} {{\n    port = {d.port}\n  }}\n"
            f"  inet_listener {listener}s {{\n    port = 0\n  }}\n}}\n")
        return ["-F", "-c", str(d.conf / "dovecot.conf")]
    return prepare


# -- databases and caches -----------------------------------------------------------------------

def _mariadb(d: DaemonDirectory) -> list[str]:
    _run_as(None, "mariadb-install-db", "--no-defaults", "--user=mysql", f"--datadir={d.data}",
            "--auth-root-authentication-method=socket", "--skip-test-db", "--skip-name-resolve")
    # A server open to the network has an account for other hosts; without one MariaDB
    # answers a remote client with error 1130 (host not allowed) instead of its handshake.
    (d.conf / "init.sql").write_text(
        f"CREATE USER IF NOT EXISTS 'lab'@'%' IDENTIFIED BY '{secrets.token_hex(16)}';\n")
    return ["--no-defaults", f"--init-file={d.conf / 'init.sql'}", "--user=mysql", f"--datadir={d.data}", f"--port={d.port}",
            f"--bind-address={d.bind_address()}", f"--socket={d.run}/mysqld.sock", f"--pid-file={d.run}/mysqld.pid",
            f"--log-error={d.log}/mariadb.log", "--skip-name-resolve", "--skip-log-bin"]


def _postgres(d: DaemonDirectory) -> list[str]:
    _run_as("postgres", str(POSTGRES_BIN / "initdb"), "-D", str(d.data), "-U", "postgres", "--auth=trust",
            "--no-sync", "--no-instructions")
    return ["-D", str(d.data), "-p", str(d.port), "-k", str(d.run), "-c", f"listen_addresses={d.bind_address('*')}",
            "-c", f"log_directory={d.log}", "-c", "logging_collector=off", "-c", "fsync=off"]


def _redis(d: DaemonDirectory) -> list[str]:
    return ["--port", str(d.port), "--bind", d.bind_address(), "--save", "", "--appendonly", "no",
            "--daemonize", "no", "--protected-mode", "no", "--dir", str(d.data),
            "--logfile", str(d.log / "redis.log")]


def _memcached(d: DaemonDirectory) -> list[str]:
    return ["-l", d.bind_address(), "-p", str(d.port), "-U", "0", "-u", "nobody"]


def _mosquitto(d: DaemonDirectory) -> list[str]:
    bind = "" if d.address in WILDCARDS else f" {d.address}"
    (d.conf / "mosquitto.conf").write_text(
        f"listener {d.port}{bind}\nallow_anonymous true\npersistence false\n"
        f"log_dest file {d.log / 'mosquitto.log'}\n")
    return ["-c", str(d.conf / "mosquitto.conf")]


def _dnsmasq(d: DaemonDirectory) -> list[str]:
    listen = [] if d.address in WILDCARDS else [f"--listen-address={d.address}", "--bind-interfaces"]
    return ["--keep-in-foreground", "--conf-file=/dev/null", f"--port={d.port}", *listen,
            "--no-resolv", "--no-hosts", "--address=/#/192.0.2.1", f"--pid-file={d.run}/dnsmasq.pid",
            f"--log-facility={d.log}/dnsmasq.log", "--user=nobody"]


def _smbd(d: DaemonDirectory) -> list[str]:
    for kind in ("private", "lock", "state", "cache"):
        (d.data / kind).mkdir(mode=0o700)
    interfaces = "" if d.address in WILDCARDS else f"interfaces = {d.address}\nbind interfaces only = yes\n"
    (d.conf / "smb.conf").write_text(
        "[global]\nserver role = standalone server\nworkgroup = LAB\n"
        f"netbios name = LAB{d.port}\nsmb ports = {d.port}\n{interfaces}"
        f"private dir = {d.data}/private\nlock directory = {d.data}/lock\nstate directory = {d.data}/state\n"
        f"cache directory = {d.data}/cache\npid directory = {d.run}\nncalrpc dir = {d.run}/ncalrpc\n"
        f"log file = {d.log}/smbd.log\nload printers = no\nprinting = bsd\nprintcap name = /dev/null\n"
        "disable spoolss = yes\nmap to guest = never\n")
    return ["--foreground", "--no-process-group", f"--configfile={d.conf / 'smb.conf'}"]


DAEMONS: dict[str, Daemon] = {daemon.label: daemon for daemon in (
    Daemon("http", "nginx-light", "nginx", _nginx(tls=False)),
    Daemon("tls", "nginx-light", "nginx", _nginx(tls=True)),
    Daemon("ssh", "openssh-server", "sshd", _sshd),
    Daemon("telnet", "inetutils-telnetd", "socat", _telnetd, helpers=("telnetd",)),
    Daemon("rdp", "xrdp", "xrdp", _xrdp),
    Daemon("ftp", "vsftpd", "vsftpd", _vsftpd),
    Daemon("smtp", "postfix", "/usr/lib/postfix/sbin/master", _postfix),
    Daemon("imap", "dovecot-imapd", "dovecot", _dovecot("imap")),
    Daemon("pop3", "dovecot-pop3d", "dovecot", _dovecot("pop3")),
    Daemon("mysql", "mariadb-server", "mariadbd", _mariadb, owner="mysql"),
    Daemon("postgres", "postgresql", str(POSTGRES_BIN / "postgres"), _postgres, user="postgres",
           stop_signal=signal.SIGINT),
    Daemon("redis", "redis-server", "redis-server", _redis),
    Daemon("memcached_ascii", "memcached", "memcached", _memcached),
    Daemon("memcached_binary", "memcached", "memcached", _memcached),
    Daemon("mqtt", "mosquitto", "mosquitto", _mosquitto),
    Daemon("dns", "dnsmasq-base", "dnsmasq", _dnsmasq),
    Daemon("smb", "samba", "smbd", _smbd),
)}
