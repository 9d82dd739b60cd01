"""The TLS rehearsal of docs/deployment.md, started for a test: a self-signed certificate for `localhost`, one
`streamlit run app.py` in local mode whose APP_REDIRECT_URI is nginx's https URL, and nginx from
deploy/nginx-tls.conf terminating TLS in front of it; every port free and every file under one directory.

The app gets a fresh localcloud data directory, `.config.json` and `.appstate/`, and nothing from the developer's
shell that would point it elsewhere. Every wait is bounded; a process that does not come up fails the test with
the tail of its log.
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from bench.environment import stop_process
from tests.conftest import repo_root
from tests.e2e.conftest import _wait_until_healthy
from tests.replicas.harness import _base_environment, _distinct_free_ports, _start, _tail

__all__ = ["TLS_TEMPLATE", "TlsCertificate", "TlsDeployment", "render_tls_conf", "self_signed_certificate",
           "tls_deployment"]

TLS_TEMPLATE = repo_root() / "deploy" / "nginx-tls.conf"
START_TIMEOUT_SECONDS = 60.0
PUBLIC_NAME = "localhost"  # the certificate's name, and the host of APP_REDIRECT_URI
# deploy/nginx-tls.conf's template convention (see its header): each of these lines exactly once.
_LISTEN_LINE = "listen 127.0.0.1:8443 ssl;"
_UPSTREAM_LINE = "server 127.0.0.1:8501;"
_CERTIFICATE_DIRECTIVES = ("ssl_certificate", "ssl_certificate_key")
_INSTALL_NGINX = "apt-get update && apt-get install -y nginx"


# -- the certificate -------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TlsCertificate:
    """A PEM certificate and its private key (0600)."""

    certificate: Path
    key: Path

    def client_context(self) -> ssl.SSLContext:
        """A TLS client context that trusts this certificate alone (and checks the host name against it)."""
        return ssl.create_default_context(cafile=str(self.certificate))


def self_signed_certificate(directory: Path, now: datetime, name: str = PUBLIC_NAME) -> TlsCertificate:
    """A self-signed P-256 certificate for `name` (and 127.0.0.1), valid for a day from `now`."""
    directory.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    certificate = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name),
                                                    x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                       critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(key, hashes.SHA256()))
    paths = TlsCertificate(directory / f"{name}.crt", directory / f"{name}.key")
    paths.certificate.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    paths.key.touch(mode=0o600)
    paths.key.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                            serialization.NoEncryption()))
    return paths


# -- nginx-tls.conf --------------------------------------------------------------------------------------------------
def render_tls_conf(template: str, listen_port: int, app_port: int, certificate: TlsCertificate) -> str:
    """deploy/nginx-tls.conf with its public port, the app's port and this certificate."""
    files = {"ssl_certificate": certificate.certificate, "ssl_certificate_key": certificate.key}
    lines, found = [], {"listen": 0, "upstream": 0, **dict.fromkeys(files, 0)}
    for line in template.splitlines():
        indent, stripped = line[:len(line) - len(line.lstrip())], line.strip()
        directive = stripped.split(" ", 1)[0]
        if stripped == _LISTEN_LINE:
            found["listen"] += 1
            line = line.replace("8443", str(listen_port))
        elif stripped == _UPSTREAM_LINE:
            found["upstream"] += 1
            line = line.replace("8501", str(app_port))
        elif directive in files and stripped.endswith(";"):
            found[directive] += 1
            line = f"{indent}{directive} {files[directive]};"
        lines.append(line)
    if set(found.values()) != {1}:
        raise ValueError(f"{TLS_TEMPLATE} no longer follows its template convention (each once): {found}")
    return "\n".join(lines) + "\n"


def _nginx_binary() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None)
    if found is None:
        pytest.fail(f"The hosting tests put nginx (terminating TLS) in front of the app, and nginx is missing. "
                    f"Install it with `{_INSTALL_NGINX}` (.ci/run does this).", pytrace=False)
    return found


def _wait_for_https(url: str, process: subprocess.Popen[bytes], log: Path, certificate: TlsCertificate) -> None:
    """Poll `url` over TLS (trusting only `certificate`) until it answers 200, nginx dies, or the deadline passes."""
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"nginx exited with {process.returncode}; its log ends:\n{_tail(log)}", pytrace=False)
        try:
            if httpx.get(url, verify=certificate.client_context(), trust_env=False, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)  # a poll interval; the deadline bounds the wait
    pytest.fail(f"nginx did not answer {url} with 200 within {START_TIMEOUT_SECONDS:.0f} s; its log ends:\n"
                f"{_tail(log)}", pytrace=False)


# -- the deployment --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TlsDeployment:
    """nginx at `url` (https) in front of the app at `app_url` (plain http on 127.0.0.1)."""

    url: str
    app_url: str
    certificate: TlsCertificate
    app_log: Path
    nginx_logs: tuple[Path, ...]
    root: Path

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])


def _app_environment(root: Path, public_url: str) -> dict[str, str]:
    """Local mode with state of its own under `root` (localcloud's data, `.appstate/` beside it, `.config.json`)."""
    return {**_base_environment(), "APP_REDIRECT_URI": public_url, "AGENT_IDENTITY_MODE": "local",
            "LOCALCLOUD_PORT": "0", "LOCALCLOUD_DATA_DIR": str(root / "lc"),
            "CONFIG_JSON": str(root / ".config.json")}


def _start_app(root: Path, port: int, public_url: str, log: Path) -> subprocess.Popen[bytes]:
    # No file watcher: an edit to the work tree during a run must not re-import modules mid-test.
    command = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
               "--server.port", str(port), "--server.address", "127.0.0.1",
               "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"]
    return _start(command, log, _app_environment(root, public_url))


def _start_nginx(prefix: Path, conf: str) -> tuple[subprocess.Popen[bytes], Path]:
    """nginx in the foreground with `conf` under `prefix`, after `nginx -t` accepted it; the process and its log."""
    prefix.mkdir(parents=True, exist_ok=True)
    (prefix / "nginx.conf").write_text(conf)
    # As root nginx's workers would run as `nobody`, who cannot reach pytest's private temp dirs.
    directives = "daemon off;" + (" user root;" if os.geteuid() == 0 else "")
    command = [_nginx_binary(), "-e", "stderr", "-c", str(prefix / "nginx.conf"), "-p", str(prefix),
               "-g", directives]
    checked = subprocess.run([*command, "-t"], capture_output=True, text=True, timeout=30, check=False)
    if checked.returncode != 0:
        pytest.fail(f"nginx -t refused the rendered {prefix / 'nginx.conf'}:\n{checked.stderr}", pytrace=False)
    log = prefix / "nginx.log"
    return _start(command, log, _base_environment()), log


@contextmanager
def tls_deployment(root: Path) -> Iterator[TlsDeployment]:
    """The app behind nginx on https://localhost:PORT, its state under `root`; both stopped on exit."""
    root.mkdir(parents=True, exist_ok=True)
    certificate = self_signed_certificate(root / "tls", datetime.now(UTC))
    public_port, app_port = _distinct_free_ports(2)
    url, app_url = f"https://{PUBLIC_NAME}:{public_port}", f"http://127.0.0.1:{app_port}"
    with ExitStack() as stack:
        app_log = root / "streamlit.log"
        (root / "app").mkdir(exist_ok=True)
        app = _start_app(root / "app", app_port, url, app_log)
        stack.callback(stop_process, app)
        conf = render_tls_conf(TLS_TEMPLATE.read_text(), public_port, app_port, certificate)
        nginx, nginx_log = _start_nginx(root / "nginx", conf)
        stack.callback(stop_process, nginx)
        _wait_until_healthy(app_url, app, app_log)
        _wait_for_https(f"{url}/_stcore/health", nginx, nginx_log, certificate)
        logs = (nginx_log, root / "nginx" / "access.log", root / "nginx" / "error.log")
        yield TlsDeployment(url, app_url, certificate, app_log, logs, root)
