"""Real servers for tests: a nats-server (JetStream) from PATH and the ML service itself as a
separate process, each on a free port and stopped afterwards (the JWK Set server is the kit's,
``portico_kit.testing.jwks_server``)."""

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import IO

SERVICE_DIR = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, timeout: float = 10.0) -> None:
    """Returns once 127.0.0.1:``port`` accepts connections; TimeoutError after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on port {port} after {timeout} s")


@contextlib.contextmanager
def nats_server() -> Iterator[str]:
    """A nats-server with JetStream (store in a temporary folder); yields its URL."""
    binary = shutil.which("nats-server")
    if binary is None:
        raise RuntimeError("nats-server is not on PATH (Debian: apt-get install nats-server)")
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="portico-ml-nats-") as store:
        process = subprocess.Popen(
            [binary, "-js", "-a", "127.0.0.1", "-p", str(port), "-sd", store],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_for_port(port)
            yield f"nats://127.0.0.1:{port}"
        finally:
            process.terminate()
            process.wait(10)


@contextlib.contextmanager
def ml_service(env: dict[str, str], stdout: IO[bytes] | None = None) -> Iterator[str]:
    """The ML service as ``npm start`` runs it (``python -m app``), with ``env`` on top of the
    test's environment, writing its logs to ``stdout`` (default: the test's); yields its base URL
    once ``/healthz`` answers."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "app"],
        cwd=SERVICE_DIR,
        env={**os.environ, "HOST": "127.0.0.1", "PORT": str(port), "LOG_LEVEL": "warn", **env},
        stdout=stdout,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the ML service exited with code {process.returncode}")
            try:
                with urllib.request.urlopen(f"{url}/healthz", timeout=1):  # noqa: S310
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(15)
