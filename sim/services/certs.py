"""Certificates for the TLS services, made with the `openssl` command at first use.

Keys and certificates go into one temporary directory per process, under the run root
(lzr_sim.runs), removed at exit: a process killed before its exit leaves it where the run
root's owner (a test session, for one) removes it. Nothing is written into the project.
"""
from __future__ import annotations

import atexit
import functools
import shutil
import subprocess
import tempfile
from pathlib import Path

from lzr_sim.runs import run_root

_workdir: Path | None = None


def _directory() -> Path:
    global _workdir
    if _workdir is None:
        root = run_root()
        root.mkdir(parents=True, exist_ok=True)
        _workdir = Path(tempfile.mkdtemp(prefix="certs-", dir=root))
        atexit.register(shutil.rmtree, _workdir, True)
    return _workdir


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)


@functools.cache
def certificate(common_name: str, issuer: str | None = None,
                dns_names: tuple[str, ...] = ()) -> tuple[str, str]:
    """(certificate path, key path) for `common_name` with the given DNS SANs.

    Self-signed when `issuer` is None; otherwise signed by a CA whose subject CN is `issuer`
    (made on the fly), as a cluster's own CA signs its API server's certificate.
    """
    directory = _directory()
    stem = directory / f"{common_name}-{issuer or 'self'}"
    cert, key = f"{stem}.crt", f"{stem}.key"
    san = ",".join(f"DNS:{name}" for name in dns_names or (common_name,))
    if issuer is None:
        _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "365",
                 "-subj", f"/CN={common_name}", "-addext", f"subjectAltName={san}",
                 "-keyout", key, "-out", cert)
        return cert, key
    ca_cert, ca_key = certificate(issuer)
    csr = f"{stem}.csr"
    extensions = directory / f"{common_name}.ext"
    extensions.write_text(f"subjectAltName={san}\nextendedKeyUsage=serverAuth\n")
    _openssl("req", "-new", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={common_name}",
             "-keyout", key, "-out", csr)
    _openssl("x509", "-req", "-in", csr, "-CA", ca_cert, "-CAkey", ca_key, "-CAcreateserial",
             "-days", "365", "-extfile", str(extensions), "-out", cert)
    return cert, key
