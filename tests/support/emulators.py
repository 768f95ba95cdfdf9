"""Starts and stops the real local emulators the Azure adapters are tested against.

- Azurite (Blob + Queue) over HTTPS with a throwaway CA (user-delegation SAS needs HTTPS and
  `--oauth basic`), `--skipApiVersionCheck`, loopback only, a temporary directory, free ports.
- @vercel/cosmosdb-server over HTTPS with its own self-signed certificate, loopback, a free port.

Used by `scripts/with_emulators.py` (what `make test` runs: one set per pytest-xdist worker, each
exported under the worker's suffix, see `for_worker`) and, when a worker finds no set of its own
(pytest started directly), by the session fixture in tests/conftest.py. Stopping is bounded:
SIGTERM to the process group, then SIGKILL to the emulator's own pid (Azurite may ignore SIGTERM).
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BIN = REPO / "node_modules" / ".bin"
# The well-known Azurite development account key (public, documented by Microsoft).
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
ENV_NAMES = ("TEST_AZURITE_BLOB_URL", "TEST_AZURITE_QUEUE_URL", "TEST_AZURITE_CA", "TEST_COSMOS_URL")


def for_worker(env: dict[str, str], worker: str) -> dict[str, str]:
    """One set's TEST_* variables as exported for the xdist worker `worker` ("gw0", ...)."""
    return {f"{name}_{worker.upper()}": value for name, value in env.items()}


def exported_for(worker: str) -> dict[str, str] | None:
    """The set `for_worker` exported for `worker`, under the plain TEST_* names; None if there is none."""
    env = {name: os.environ.get(f"{name}_{worker.upper()}", "") for name in ENV_NAMES}
    return env if all(env.values()) else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_port(port: int, proc: subprocess.Popen, name: str, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited with {proc.returncode}:\n{log.read_text()[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{name} did not listen on {port} within {timeout}s:\n{log.read_text()[-2000:]}")


def _stop(proc: subprocess.Popen, grace: float = 2.0) -> None:
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        for kill in (lambda: os.kill(proc.pid, signal.SIGKILL), lambda: os.killpg(proc.pid, signal.SIGKILL)):
            try:
                kill()
            except ProcessLookupError:
                pass
        proc.wait(grace)


@dataclass
class Emulators:
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="telederm-emulators-")))
    procs: list[subprocess.Popen] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)

    def start(self) -> dict[str, str]:
        if not (BIN / "azurite").exists() or not (BIN / "cosmosdb-server").exists():
            raise RuntimeError("emulators are not installed: run `make test` (it runs `npm ci`)")
        try:
            self._start_azurite()
            self._start_cosmos()
        except BaseException:
            self.stop()
            raise
        return self.env

    def _spawn(self, name: str, args: list[str]) -> tuple[subprocess.Popen, Path]:
        log = self.workdir / f"{name}.log"
        proc = subprocess.Popen(
            args, cwd=self.workdir, env={**os.environ, "NODE_PATH": str(REPO / "node_modules")}, stdout=open(log, "wb"), stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )
        self.procs.append(proc)
        return proc, log

    def _start_azurite(self) -> None:
        import trustme

        ca = trustme.CA()
        cert = ca.issue_cert("127.0.0.1", "localhost")
        cert_path, key_path, ca_path = (self.workdir / n for n in ("azurite-cert.pem", "azurite-key.pem", "ca.pem"))
        cert.cert_chain_pems[0].write_to_path(str(cert_path))
        cert.private_key_pem.write_to_path(str(key_path))
        ca.cert_pem.write_to_path(str(ca_path))
        blob, queue, table = free_port(), free_port(), free_port()
        data = self.workdir / "azurite"
        data.mkdir()
        proc, log = self._spawn("azurite", [
            str(BIN / "azurite"), "--silent", "--skipApiVersionCheck", "--loose",
            "--blobHost", "127.0.0.1", "--blobPort", str(blob),
            "--queueHost", "127.0.0.1", "--queuePort", str(queue),
            "--tableHost", "127.0.0.1", "--tablePort", str(table),
            "--location", str(data), "--cert", str(cert_path), "--key", str(key_path), "--oauth", "basic",
        ])
        _wait_for_port(blob, proc, "azurite", log)
        _wait_for_port(queue, proc, "azurite", log)
        self.env.update(
            TEST_AZURITE_BLOB_URL=f"https://127.0.0.1:{blob}/{AZURITE_ACCOUNT}",
            TEST_AZURITE_QUEUE_URL=f"https://127.0.0.1:{queue}/{AZURITE_ACCOUNT}",
            TEST_AZURITE_CA=str(ca_path),
        )

    def _start_cosmos(self) -> None:
        port = free_port()
        # Through a wrapper that fixes one 404-versus-500 defect of the server (see the script).
        launcher = Path(__file__).with_name("cosmosdb_server.js")
        proc, log = self._spawn("cosmosdb-server", ["node", str(launcher), "--host", "127.0.0.1", "--port", str(port)])
        _wait_for_port(port, proc, "cosmosdb-server", log)
        self.env["TEST_COSMOS_URL"] = f"https://127.0.0.1:{port}"

    def stop(self) -> None:
        for proc in reversed(self.procs):
            _stop(proc)
        self.procs.clear()
        shutil.rmtree(self.workdir, ignore_errors=True)
