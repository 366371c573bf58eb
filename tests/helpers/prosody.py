"""Start a throw-away Prosody on 127.0.0.1 with ephemeral ports (integration tests, demo).

Usable as a library (`ProsodyServer`) and as a script (`python -m tests.helpers.prosody DIR`)
for `make demo`.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from .tls import TestCA, make_ca

DOMAIN = "localhost"
MUC_DOMAIN = "conference.localhost"
UPLOAD_DOMAIN = "upload.localhost"

CONFIG = """\
-- Throw-away Prosody config written by tests/helpers/prosody.py
run_as_root = true
daemonize = false
pidfile = "{root}/prosody.pid"
data_path = "{root}/data"
plugin_paths = {{}}
log = {{ {{ levels = {{ min = "{log_level}" }}, to = "file", filename = "{root}/prosody.log" }} }}
interfaces = {{ "127.0.0.1" }}
local_interfaces = {{ "127.0.0.1" }}
c2s_ports = {{ {c2s_port} }}
c2s_direct_tls_ports = {{ {direct_tls_port} }}
s2s_ports = {{}}
http_ports = {{ {http_port} }}
http_interfaces = {{ "127.0.0.1" }}
https_ports = {{ {https_port} }}
https_interfaces = {{ "127.0.0.1" }}
https_ssl = {{ certificate = "{cert}"; key = "{key}"; }}
http_external_url = "http://127.0.0.1:{http_port}/"
component_ports = {{}}
c2s_require_encryption = true
allow_registration = {allow_registration}
registration_throttle_max = 1000
registration_throttle_period = 1
min_seconds_between_registrations = 0
authentication = "internal_hashed"
storage = "internal"
archive_expires_after = "never"
default_archive_policy = true
max_archive_query_results = 500
smacks_hibernation_time = 60
limits = {{ c2s = {{ rate = "100000kb/s"; burst = "10s"; }} }}
ssl = {{ certificate = "{cert}"; key = "{key}"; }}
modules_enabled = {{
  "roster"; "saslauth"; "tls"; "dialback"; "disco"; "pep"; "carbons"; "mam"; "smacks";
  "register"; "offline"; "blocklist"; "private"; "vcard4"; "vcard_legacy"; "version";
  "uptime"; "time"; "ping"; "posix";
}}
modules_disabled = {{ "s2s" }}
VirtualHost "{domain}"
  ssl = {{ certificate = "{cert}"; key = "{key}"; }}
Component "{muc_domain}" "muc"
  modules_enabled = {{ "muc_mam" }}
  ssl = {{ certificate = "{cert}"; key = "{key}"; }}
Component "{upload_domain}" "http_file_share"
  http_file_share_size_limit = {upload_limit}
  http_file_share_daily_quota = {upload_quota}
  http_host = "127.0.0.1"
  -- XEP-0454 turns only https:// links into aesgcm:// links: serve uploads over TLS
  http_external_url = "https://127.0.0.1:{https_port}/"
  ssl = {{ certificate = "{cert}"; key = "{key}"; }}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def prosody_available() -> bool:
    return shutil.which("prosody") is not None and shutil.which("prosodyctl") is not None


@dataclass
class ProsodyServer:
    root: Path
    allow_registration: bool = True
    log_level: str = "info"
    c2s_port: int = field(default_factory=free_port)
    direct_tls_port: int = field(default_factory=free_port)
    http_port: int = field(default_factory=free_port)
    https_port: int = field(default_factory=free_port)
    ca: TestCA | None = None
    process: subprocess.Popen[bytes] | None = None

    @property
    def config_file(self) -> Path:
        return self.root / "prosody.cfg.lua"

    @property
    def ca_file(self) -> Path:
        assert self.ca is not None
        return self.ca.ca_file

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.c2s_port}"

    def write_config(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "data").mkdir(exist_ok=True)
        if self.ca is None:
            self.ca = make_ca(self.root / "certs", [DOMAIN, MUC_DOMAIN, UPLOAD_DOMAIN])
        self.config_file.write_text(
            CONFIG.format(
                root=self.root,
                log_level=self.log_level,
                c2s_port=self.c2s_port,
                direct_tls_port=self.direct_tls_port,
                http_port=self.http_port,
                https_port=self.https_port,
                allow_registration="true" if self.allow_registration else "false",
                cert=self.ca.cert_file,
                key=self.ca.key_file,
                domain=DOMAIN,
                muc_domain=MUC_DOMAIN,
                upload_domain=UPLOAD_DOMAIN,
                upload_limit=64 * 1024 * 1024,
                upload_quota=1024 * 1024 * 1024,
            )
        )

    def _env(self) -> dict[str, str]:
        return {**os.environ, "PROSODY_CONFIG": str(self.config_file)}

    def start(self, timeout: float = 15.0) -> None:
        if not self.config_file.exists():
            self.write_config()
        with open(self.root / "stdout.log", "ab") as log:
            self.process = subprocess.Popen(
                ["prosody", "--config", str(self.config_file), "-F"],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self._env(),
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"prosody exited early; see {self.root}/prosody.log")
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.c2s_port), timeout=0.2),
            ):
                return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"prosody did not listen within {timeout}s; see {self.root}")

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def kill(self) -> None:
        """Hard stop (simulates a crash)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def register(self, user: str, password: str) -> str:
        """Create an account with prosodyctl; returns the bare JID."""
        subprocess.run(
            ["prosodyctl", "--config", str(self.config_file), "register", user, DOMAIN, password],
            check=True,
            capture_output=True,
            env=self._env(),
            timeout=30,
        )
        return f"{user}@{DOMAIN}"


def main() -> None:
    """Run a server in the foreground until interrupted (used by `make demo`)."""
    root = Path(sys.argv[1]).resolve()
    server = ProsodyServer(root)
    server.write_config()
    server.start()
    print(f"PROSODY_PORT={server.c2s_port}", flush=True)
    try:
        while server.process is not None and server.process.poll() is None:
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


if __name__ == "__main__":
    main()
