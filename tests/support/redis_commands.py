"""Counting the round trips a request makes to Redis, without MONITOR: every command (or pipeline) a redis-py
connection sends goes through AbstractConnection.send_packed_command once, so a patched one records each send."""

import contextlib
from collections.abc import Iterator

from redis.connection import AbstractConnection


@contextlib.contextmanager
def redis_sends() -> Iterator[list[bytes]]:
    """Within the block, every send to any Redis server, as the bytes sent (a pipeline: one entry), in order."""
    sent: list[bytes] = []
    original = AbstractConnection.send_packed_command

    def recording(self: AbstractConnection, command: object, check_health: bool = True) -> None:
        parts = command if isinstance(command, list) else [command]
        sent.append(b"".join(bytes(part) for part in parts))
        return original(self, command, check_health)

    AbstractConnection.send_packed_command = recording
    try:
        yield sent
    finally:
        AbstractConnection.send_packed_command = original


def sends_naming(sent: list[bytes], key: str) -> list[bytes]:
    """The sends among `sent` that name `key` (a cache key as the app names it: any prefix before it)."""
    return [command for command in sent if key.encode() in command]
