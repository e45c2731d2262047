"""What PostgreSQL and Redis did during a phase, for docs/CAPACITY.md's "per fan action" and "per request"
figures: the stack database's transactions (pg_stat_database), Redis's commands by name (INFO commandstats)
and its own CPU (INFO cpu), and the CPU of the server processes as /proc shows it (PostgreSQL's backends
serving the stack's database apart from the rest, and the Redis server).

Read with a connection of its own (autocommit, so every reading is a fresh statistics snapshot), not
through Django: the rush reads it from inside its event loop. PostgreSQL's backends report their
transaction counters late (at most once a second, what is left ten seconds after they go idle, and under
load later still: in the yardstick's 8 s runs each run's transactions showed up mostly in the next run's
reading, 20 s later), so only readings over minutes (the rush, its pre-queue window) are worth quoting.
Redis's counters and the processes' CPU are exact, but Redis's are the whole server's: other work using
the same server (another test suite on another db number) counts too, which is why a bench runs on a quiet
machine.
"""

import argparse
import os
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from bench.rush.cpu import CpuMeter, process_table

# pg_stat_database's counters the report keeps (deltas over the phase).
PG_COUNTERS = ("xact_commit", "xact_rollback", "tup_returned", "tup_fetched", "tup_inserted", "tup_updated")


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            return cmdline.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def server_processes(database: str, redis_port: int) -> dict[str, list[int]]:
    """The server processes by role: PostgreSQL backends connected to `database` (their title names it:
    "postgres: 15/main: postgres frontrow 127.0.0.1(5678) idle"), every other PostgreSQL process (other
    databases' backends, the checkpointer, the WAL writer...), and the Redis server listening on
    `redis_port`."""
    roles: dict[str, list[int]] = {f"postgres ({database})": [], "postgres (other)": [], "redis-server": []}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/comm") as comm:
                name = comm.read().strip()
        except OSError:
            continue
        if name == "postgres":
            words = _cmdline(int(entry.name)).split()
            # "postgres: <cluster>: <user> <database> <client> <state>", or the postmaster's own command line
            ours = len(words) >= 4 and words[0] == "postgres:" and words[3] == database
            roles[f"postgres ({database})" if ours else "postgres (other)"].append(int(entry.name))
        elif name == "redis-server" and f":{redis_port}" in _cmdline(int(entry.name)):
            roles["redis-server"].append(int(entry.name))
    return roles


class ServerMeter:
    """PostgreSQL's and Redis's work during a phase: started at the phase's start, stopped at its end."""

    def __init__(self, database: Mapping[str, Any], redis_url: str) -> None:
        self.database = database  # Django's settings_dict of the stack's database
        self.redis_url = redis_url
        self.start = self._read()

    def _read(self) -> dict[str, Any]:
        import psycopg
        import redis

        db = self.database
        reading: dict[str, Any] = {}
        with psycopg.connect(
            dbname=db["NAME"],
            user=db.get("USER") or None,
            password=db.get("PASSWORD") or None,
            host=db.get("HOST") or None,
            port=db.get("PORT") or None,
            autocommit=True,
        ) as connection:
            row = connection.execute(
                f"SELECT {', '.join(PG_COUNTERS)} FROM pg_stat_database WHERE datname = current_database()"  # noqa: S608 -- constant names
            ).fetchone()
        reading["postgres"] = dict(zip(PG_COUNTERS, row or (), strict=False))
        client = redis.Redis.from_url(self.redis_url)
        try:
            stats = client.info("commandstats")
            cpu = client.info("cpu")
            memory = client.info("memory")
        finally:
            client.close()
        reading["redis_calls"] = {
            name.removeprefix("cmdstat_"): int(value["calls"])
            for name, value in stats.items()
            if isinstance(value, dict)
        }
        reading["redis_cpu_s"] = float(cpu["used_cpu_sys"]) + float(cpu["used_cpu_user"])
        reading["redis_used_memory"] = int(memory["used_memory"])
        port = urlsplit(self.redis_url).port or 6379
        table = process_table()
        # Per process, keyed by pid and start time (a pid reused by a later process is another process).
        reading["process_cpu_s"] = {
            role: {
                f"{pid}:{table[pid]['started']}": table[pid]["cpu_ticks"] / CpuMeter.TICKS
                for pid in pids
                if pid in table
            }
            for role, pids in server_processes(str(db["NAME"]), port).items()
        }
        return reading

    def stop(self) -> dict[str, Any]:
        """The deltas since the start."""
        end, start = self._read(), self.start
        calls = {
            name: end["redis_calls"][name] - start["redis_calls"].get(name, 0)
            for name in end["redis_calls"]
            if end["redis_calls"][name] > start["redis_calls"].get(name, 0)
        }
        return {
            "postgres": {name: end["postgres"][name] - start["postgres"].get(name, 0) for name in end["postgres"]},
            "redis": {
                "commands": dict(sorted(calls.items(), key=lambda item: -item[1])),
                "calls": sum(calls.values()),
                "cpu_s": end["redis_cpu_s"] - start["redis_cpu_s"],
                "used_memory_start": start["redis_used_memory"],
                "used_memory_end": end["redis_used_memory"],
            },
            # A backend that ended during the phase takes its CPU with it (the pools' connections live on); one
            # that began during it counts whole.
            "process_cpu_s": {
                role: sum(seconds - start["process_cpu_s"].get(role, {}).get(key, 0.0) for key, seconds in pids.items())
                for role, pids in end["process_cpu_s"].items()
            },
        }


def server_meter(args: argparse.Namespace) -> ServerMeter | None:
    """A ServerMeter started now for the stack's database and Redis (args.servers: Django's settings_dict and
    REDIS_URL, set by __main__), or None where there are none to read."""
    database, redis_url = getattr(args, "servers", (None, None))
    return ServerMeter(database, redis_url) if database and redis_url else None


def queue_keys(redis_url: str, prefix: str, concert_id: str) -> dict[str, dict[str, Any]]:
    """The Redis queue backend's keys of one concert ("<prefix>:{<concert>}:<name>[:<more>]", see
    queueing.backends.redis) grouped by name: their type, how many keys, how many members they hold and their
    MEMORY USAGE in bytes; what the waiting fans cost Redis, read while the rush runs."""
    import redis

    client = redis.Redis.from_url(redis_url, decode_responses=True)
    sizes = {"zset": "zcard", "hash": "hlen", "set": "scard", "list": "llen"}
    groups: dict[str, dict[str, Any]] = {}
    try:
        keys = list(client.scan_iter(match=f"{prefix}:*{concert_id}*", count=1000))
        with client.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.type(key)
            kinds = [str(kind) for kind in pipe.execute()]
        with client.pipeline(transaction=False) as pipe:
            for key, kind in zip(keys, kinds, strict=True):
                pipe.memory_usage(key, samples=0)
                if kind in sizes:
                    getattr(pipe, sizes[kind])(key)
                else:
                    pipe.exists(key)  # a string: one member
            answers = iter(pipe.execute())
        for key, kind in zip(keys, kinds, strict=True):
            name = key.split("}:", 1)[-1].split(":", 1)[0]
            group = groups.setdefault(name, {"type": kind, "keys": 0, "members": 0, "bytes": 0})
            group["bytes"] += int(next(answers) or 0)
            group["members"] += int(next(answers) or 0)
            group["keys"] += 1
    finally:
        client.close()
    return groups
