"""A private Redis Cluster for the tests: three masters (no replicas) on free ports in a temporary folder,
made one cluster by `redis-cli --cluster create`, and stopped (the folder deleted) afterwards.

Never the shared Redis other tests use. Each node gets a client port and a cluster-bus port of its own
(`cluster-port`, Redis 7), both picked free, rather than the default port + 10000, which may not exist.
"""

import itertools
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import pytest
import redis
from redis.crc import key_slot

STARTUP_SECONDS = 30


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RedisClusterProcesses:
    def __init__(self, *, masters: int = 3, node_timeout_ms: int = 5000):
        self.server = shutil.which("redis-server")
        self.cli = shutil.which("redis-cli")
        if self.server is None or self.cli is None:
            pytest.skip("redis-server and redis-cli are needed for the Redis Cluster tests and are not installed")
        self.masters = masters
        self.node_timeout_ms = node_timeout_ms
        self.directory: Path | None = None
        self.ports: list[int] = []
        self.processes: dict[int, subprocess.Popen] = {}
        self.started_in: float | None = None  # seconds from the first process to cluster_state:ok

    @property
    def url(self):
        """The seed node a client starts from; it learns the other nodes from it."""
        return f"redis://127.0.0.1:{self.ports[0]}"

    def start(self):
        began = time.monotonic()
        self.directory = Path(tempfile.mkdtemp(prefix="frontrow-redis-cluster-"))
        self.ports = [free_port() for _ in range(self.masters)]
        for port in self.ports:
            self._spawn(port)
        for port in self.ports:
            self._wait_for_ping(port)
        subprocess.run(
            [self.cli, "--cluster", "create", *(f"127.0.0.1:{port}" for port in self.ports)]
            + ["--cluster-replicas", "0", "--cluster-yes"],
            check=True,
            capture_output=True,
            timeout=STARTUP_SECONDS,
        )
        for port in self.ports:
            self._wait_for_cluster_ok(port)
        self.started_in = time.monotonic() - began
        return self

    def _spawn(self, port):
        folder = self.directory / str(port)
        folder.mkdir()
        args = [self.server, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(folder)]
        args += ["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"]
        args += ["--cluster-port", str(free_port()), "--cluster-node-timeout", str(self.node_timeout_ms)]
        args += ["--save", "", "--appendonly", "no", "--daemonize", "no", "--protected-mode", "yes"]
        self.processes[port] = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def _node(self, port):
        return redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=0.5, socket_timeout=2)

    def _wait_for_ping(self, port):
        client = self._node(port)
        try:
            deadline = time.monotonic() + STARTUP_SECONDS
            while time.monotonic() < deadline:
                if self.processes[port].poll() is not None:
                    raise RuntimeError(f"redis-server on port {port} exited at start (port taken?)")
                try:
                    client.ping()
                    return
                except redis.exceptions.ConnectionError:
                    time.sleep(0.02)
        finally:
            client.close()
        raise RuntimeError(f"redis-server did not answer on port {port}")

    def _wait_for_cluster_ok(self, port):
        client = self._node(port)
        try:
            deadline = time.monotonic() + STARTUP_SECONDS
            while time.monotonic() < deadline:
                if client.execute_command("CLUSTER INFO").get("cluster_state") == "ok":
                    return
                time.sleep(0.02)
        finally:
            client.close()
        raise RuntimeError(f"the cluster node on port {port} never reported cluster_state:ok")

    def slot_owners(self):
        """{port: [(first slot, last slot), ...]} as the cluster itself reports it (CLUSTER SLOTS)."""
        client = self._node(self.ports[0])
        try:
            owners = {port: [] for port in self.ports}
            for first, last, primary, *_replicas in client.execute_command("CLUSTER SLOTS"):
                owners[int(primary[1])].append((int(first), int(last)))
            return owners
        finally:
            client.close()

    def keys_on(self, port, match):
        """The keys matching `match` that this one node holds (asked of the node alone, no redirection)."""
        client = self._node(port)
        try:
            return sorted(key.decode() for key in client.scan_iter(match=match, count=1000))
        finally:
            client.close()

    def concert_id_on(self, port):
        """A concert id (UUID) whose hash tag {<id>} falls in a slot this node serves."""
        ranges = self.slot_owners()[port]
        for number in itertools.count(1):
            concert_id = uuid.UUID(int=number)
            slot = key_slot(f"{{{concert_id}}}".encode())
            if any(first <= slot <= last for first, last in ranges):
                return concert_id
        raise AssertionError("unreachable")

    def kill(self, port):
        """Stop one node the hard way (SIGKILL), as a crashed shard."""
        process = self.processes.pop(port)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)

    def stop(self):
        for process in self.processes.values():
            process.terminate()
        for process in self.processes.values():
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        self.processes.clear()
        if self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)
            self.directory = None


def running_cluster(**options):
    """Start a cluster and yield it; always stop it and delete its folder, whatever happened (a generator for
    fixtures)."""
    cluster = RedisClusterProcesses(**options)
    try:
        yield cluster.start()
    finally:
        cluster.stop()
