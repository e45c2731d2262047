"""The CPU meter: CPU seconds used during a phase by the load generator, the stack's processes and the
machine, read from /proc (Linux)."""

import os
import time
from collections import defaultdict
from collections.abc import Mapping
from typing import Any, Protocol

# pid -> {"ppid", "cpu_ticks", "started"}
ProcessTable = dict[int, dict[str, int]]


def process_table() -> ProcessTable:
    """{pid: {"ppid", "cpu_ticks", "started"}} for every process /proc shows."""
    table: ProcessTable = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as stat:
                parts = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        table[int(entry.name)] = {
            "ppid": int(parts[1]),
            # utime + stime + the reaped children's (RQ forks a work horse per job that exits after it)
            "cpu_ticks": int(parts[11]) + int(parts[12]) + int(parts[13]) + int(parts[14]),
            "started": int(parts[19]),  # start time: tells a process from a later one with its pid
        }
    return table


def descendants(root: int, table: ProcessTable | None = None) -> set[int]:
    """Every pid below root in the process tree (honcho starts each process in a session of its own)."""
    table = table or process_table()
    children: defaultdict[int, list[int]] = defaultdict(list)
    for pid, row in table.items():
        children[row["ppid"]].append(pid)
    found: set[int] = set()
    todo = [root]
    while todo:
        for child in children[todo.pop()]:
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


class PhaseMeter(Protocol):
    """Something else read over the same phase (bench.rush.servers.ServerMeter: PostgreSQL's and Redis's work)."""

    def stop(self) -> dict[str, Any]: ...


class CpuMeter:
    """CPU seconds used during a phase: by this load generator, by the stack's processes, by the machine.

    Reads /proc (Linux): the stack is the honcho this bench started and every process below it (a
    process that exits during the phase takes its CPU time with it); "machine" is all CPUs' busy time,
    so machine - stack - generator is PostgreSQL, Redis and whatever else runs on the box (other
    people's work included).
    """

    TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100

    def __init__(
        self,
        stack_pid: int | None = None,
        processes: Mapping[str, int] | None = None,
        servers: PhaseMeter | None = None,
    ) -> None:
        self.stack_pid = stack_pid
        self.processes = processes or {}  # Procfile name -> pid, for a per-process breakdown
        self.servers = servers  # read over the same phase, its figures under "servers"
        self.start = self._read()

    def _read(self) -> dict[str, Any]:
        own = os.times()
        reading: dict[str, Any] = {
            "wall": time.monotonic(),
            "generator": own.user + own.system,
            "stack": 0.0,
            "machine": 0.0,
        }
        try:
            with open("/proc/stat") as stat:
                fields = [int(value) for value in stat.readline().split()[1:]]
            idle = fields[3] + fields[4]  # idle + iowait
            reading["machine"] = (sum(fields[:8]) - idle) / self.TICKS
        except OSError:
            pass
        if self.stack_pid:
            table = process_table()

            def tree_cpu(root: int) -> int:
                return sum(table[pid]["cpu_ticks"] for pid in descendants(root, table) | {root} if pid in table)

            reading["stack"] = tree_cpu(self.stack_pid) / self.TICKS
            reading["processes"] = {name: tree_cpu(pid) / self.TICKS for name, pid in self.processes.items()}
        return reading

    def stop(self) -> dict[str, Any]:
        end = self._read()
        wall = end["wall"] - self.start["wall"]
        used = {name: end[name] - self.start[name] for name in ("generator", "stack", "machine")}
        used["other"] = max(0.0, used["machine"] - used["generator"] - used["stack"])
        per_process = {
            name: end["processes"][name] - self.start["processes"].get(name, 0.0) for name in end.get("processes", {})
        }
        return {
            "wall_s": wall,
            "cpus": os.cpu_count(),
            **{f"{name}_cpu_s": value for name, value in used.items()},
            "stack_processes_cpu_s": per_process,
            "servers": self.servers.stop() if self.servers else None,
        }
