"""A private redis-server for fault tests: started on a free port by the test, killed, frozen and restarted at will.

Never the shared Redis other tests use. With `persist=True` it writes an append-only file synced on every
write, so a SIGKILL loses nothing and a restart on the same port comes back with the same data (a
production Redis with AOF); without it a restart comes back empty (a Redis that lost its data).
"""

import shutil
import signal
import socket
import subprocess
import time

import pytest
import redis


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RedisServer:
    def __init__(self, directory, *, persist):
        self.binary = shutil.which("redis-server")
        if self.binary is None:
            pytest.skip("redis-server is not installed")
        self.directory = directory
        self.persist = persist
        self.port = free_port()
        self.process = None

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self):
        args = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.directory)]
        args += ["--save", "", "--daemonize", "no", "--protected-mode", "yes"]
        if self.persist:
            args += ["--appendonly", "yes", "--appendfsync", "always"]
        else:
            args += ["--appendonly", "no"]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.2)
        try:
            for _ in range(100):
                try:
                    client.ping()
                    return self
                except redis.exceptions.ConnectionError:
                    time.sleep(0.05)
        finally:
            client.close()
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    def kill(self):
        """Stop it the hard way (SIGKILL): no shutdown, no final save."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)
        self.process = None

    def freeze(self):
        """Stop it answering without closing anything (SIGSTOP): connections open, replies never come, the
        way a hung or unreachable Redis looks to a client (it waits for its socket timeout)."""
        self.process.send_signal(signal.SIGSTOP)

    def thaw(self):
        self.process.send_signal(signal.SIGCONT)

    def restart(self):
        self.kill()
        return self.start()

    def keys(self):
        client = redis.Redis.from_url(self.url)
        try:
            return sorted(key.decode() for key in client.keys("*"))
        finally:
            client.close()
