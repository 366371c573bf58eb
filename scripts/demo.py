"""`make demo`: a throw-away local Prosody, two accounts, two app windows logged into them.

Everything lives in a temporary folder and a private, throw-away keyring, so nothing touches
your real accounts or keyring. Close both windows (or press Ctrl+C) to end the demo.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.helpers import session_keyring  # noqa: E402
from tests.helpers.prosody import ProsodyServer  # noqa: E402

USERS = ("alice", "bob")


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="omemo-demo-") as tmp:
        base = Path(tmp)
        server = ProsodyServer(base / "server")
        server.start()
        print(f"Local XMPP server on {server.address} (domain localhost)")
        try:
            with session_keyring.secret_service_env() as env:
                env["PYTHONPATH"] = str(ROOT)
                windows = []
                for user in USERS:
                    jid = server.register(user, f"demo-{user}")
                    data = base / user
                    pw = base / f"{user}.pw"
                    pw.write_text(f"demo-{user}")
                    common = ["--data-dir", str(data), "--ca-file", str(server.ca_file)]
                    cli = [sys.executable, "-m", "omemo_desktop.cli", *common]
                    subprocess.run(
                        [
                            *cli,
                            "account",
                            "add",
                            jid,
                            "--password-file",
                            str(pw),
                            "--server",
                            server.address,
                        ],
                        env=env,
                        check=True,
                    )
                    other = next(u for u in USERS if u != user)
                    subprocess.run(
                        [*cli, "contacts", "add", f"{other}@localhost"], env=env, check=True
                    )
                    print(f"{jid} ready (password demo-{user})")
                    windows.append(
                        subprocess.Popen([sys.executable, "-m", "omemo_desktop", *common], env=env)
                    )
                print("Two windows are open: chat between alice and bob. Close both to stop.")
                for w in windows:
                    w.wait()
        except KeyboardInterrupt:
            pass
        finally:
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
