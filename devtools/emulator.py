"""Start and stop a private Cloud Spanner emulator on free ports.

Used by ``make run`` (devtools.devserver), the test suite and the benchmarks. Never used by
the service itself. Lookup order for the emulator: the gcloud SDK's
``bin/cloud_spanner_emulator/gateway_main``, then ``gateway_main`` on PATH, then the
emulator container if a Docker engine answers.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

EMULATOR_IMAGE = "gcr.io/cloud-spanner-emulator/emulator"

INSTALL_HINT = (
    "No Cloud Spanner emulator found. Install it with\n"
    "    gcloud components install cloud-spanner-emulator\n"
    "(or `apt-get install google-cloud-cli-spanner-emulator` where gcloud came from apt),\n"
    "or point SPANNER_EMULATOR_HOST at a running emulator."
)


class EmulatorNotFound(RuntimeError):
    pass


@dataclass(frozen=True)
class EmulatorCommand:
    argv: list[str]
    grpc_port: int
    kind: str  # "binary" or "docker"


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def _gcloud_sdk_root() -> Path | None:
    gcloud = shutil.which("gcloud")
    if not gcloud:
        return None
    try:
        out = subprocess.run(
            [gcloud, "info", "--format=value(installation.sdk_root)"],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout.strip()
    except (subprocess.SubprocessError, OSError):
        return None
    return Path(out) if out else None


def find_gateway() -> Path | None:
    root = _gcloud_sdk_root()
    if root:
        candidate = root / "bin" / "cloud_spanner_emulator" / "gateway_main"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    on_path = shutil.which("gateway_main")
    return Path(on_path) if on_path else None


def docker_answers() -> bool:
    docker = shutil.which("docker")
    if not docker:
        return False
    try:
        subprocess.run([docker, "info"], capture_output=True, timeout=10, check=True)
    except (subprocess.SubprocessError, OSError):
        return False
    return True


def emulator_command(host: str = "127.0.0.1") -> EmulatorCommand:
    grpc_port, http_port = free_port(host), free_port(host)
    gateway = find_gateway()
    if gateway is not None:
        argv = [
            str(gateway),
            f"--hostname={host}",
            f"--grpc_port={grpc_port}",
            f"--http_port={http_port}",
            f"--grpc_binary={gateway.parent / 'emulator_main'}",
        ]
        return EmulatorCommand(argv, grpc_port, "binary")
    if docker_answers():
        argv = [
            "docker", "run", "--rm", "--init",
            "-p", f"{host}:{grpc_port}:9010",
            "-p", f"{host}:{http_port}:9020",
            EMULATOR_IMAGE,
        ]  # fmt: skip
        return EmulatorCommand(argv, grpc_port, "docker")
    raise EmulatorNotFound(INSTALL_HINT)


class Emulator:
    """A running emulator, owned by whoever started it and stopped by its PID."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        command: EmulatorCommand | None = None,
        name: str = "spanner-emulator",
    ) -> None:
        self.host = host
        self._command = command or emulator_command(host)
        # Lives as long as the emulator; closed (and deleted) in __exit__.
        self._log = tempfile.NamedTemporaryFile(  # noqa: SIM115
            prefix=f"{name}-", suffix=".log"
        )
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"{self.host}:{self._command.grpc_port}"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def start(self, timeout: float = 60.0) -> Emulator:
        # Own process group: the gateway starts emulator_main as a child, and both
        # must go when we stop.
        self.process = subprocess.Popen(
            self._command.argv,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"emulator exited early:\n{self.log_tail()}")
            with (
                contextlib.suppress(OSError),
                socket.create_connection((self.host, self._command.grpc_port), timeout=0.5),
            ):
                return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"emulator did not listen within {timeout}s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 20) -> str:
        path = Path(self._log.name)
        text = path.read_text(errors="replace") if path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, timeout: float = 10.0) -> None:
        proc, self.process = self.process, None
        if proc is None or proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout)

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
        self._log.close()
