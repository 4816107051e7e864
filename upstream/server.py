"""`moderator hub serve`: bind the socket here (so `--port 0` works and N workers share it), migrate the
database once, then run uvicorn: in this process for one worker, or as N worker processes. The line
`hub listening on http://HOST:PORT` is printed once every worker is ready to answer."""

from __future__ import annotations

import os
import signal
import socket
import sys
from pathlib import Path
from typing import TextIO

import uvicorn
from uvicorn.supervisors import Multiprocess

from upstream.app import ENV_DB, ENV_DIR, ENV_GOLDEN, ENV_LEASE
from upstream.db import open_hub, write_tx
from upstream.policy_store import ensure_policy

WORKER_READY_S = 60


class ServeError(Exception):
    """The hub cannot start (the address is taken, say); one line."""


def serve(*, db_url: str, data_dir: Path, host: str, port: int, workers: int, lease_seconds: int,
          golden_rate: float = 0.0, out: TextIO = sys.stdout) -> None:
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    engine = open_hub(db_url)  # migrations and the policy seed happen once, before any worker starts
    with write_tx(engine) as conn:
        ensure_policy(conn)
    engine.dispose()
    sock = _bind(host, port)
    os.environ.update({ENV_DB: db_url, ENV_DIR: str(data_dir), ENV_LEASE: str(lease_seconds),
                       ENV_GOLDEN: repr(golden_rate)})
    config = uvicorn.Config("upstream.app:app_from_env", factory=True, workers=workers, log_level="warning",
                            access_log=False, timeout_graceful_shutdown=5, lifespan="off")
    bound_host, bound_port = sock.getsockname()[:2]
    line = f"hub listening on http://{_url_host(bound_host)}:{bound_port}"
    # uvicorn re-raises the signal that stopped it once it has shut down; with these handlers that
    # ends the command with exit 0 instead of a death by signal or a KeyboardInterrupt traceback.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _stopped)
    try:
        if workers == 1:
            _AnnouncingServer(config, out, line).run(sockets=[sock])
        else:
            _AnnouncingSupervisor(config, [sock], out, line).run()
    finally:
        sock.close()


def _stopped(_signum, _frame) -> None:
    raise SystemExit(0)


def _bind(host: str, port: int) -> socket.socket:
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on connections of a socket whose proto
        # says TCP; without it every response waited ~40 ms for a delayed ACK (bench/bench_hub.py).
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)
    except OSError as exc:
        raise ServeError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.set_inheritable(True)
    return sock


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _announce(out: TextIO, line: str) -> None:
    out.write(line + "\n")
    out.flush()


class _AnnouncingServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, out: TextIO, line: str) -> None:
        super().__init__(config)
        self._out, self._line = out, line

    async def startup(self, sockets=None) -> None:
        await super().startup(sockets=sockets)
        if self.started:
            _announce(self._out, self._line)


class _AnnouncingSupervisor(Multiprocess):
    def __init__(self, config: uvicorn.Config, sockets: list[socket.socket], out: TextIO, line: str) -> None:
        super().__init__(config, sockets)
        self._out, self._line = out, line

    def init_processes(self) -> None:
        super().init_processes()
        if all(p.wait_until_ready(WORKER_READY_S, self.should_exit) for p in self.processes):
            _announce(self._out, self._line)
