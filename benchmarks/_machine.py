"""What the benchmarks ran on: printed with every set of figures."""

from __future__ import annotations

import os
import platform
import subprocess


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def nproc() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def postgres_version(database_url: str) -> str:
    try:
        output = subprocess.run(
            ["psql", database_url, "-Atc", "show server_version"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return output.stdout.strip() or "unknown"


def machine_lines(database_url: str | None = None) -> list[str]:
    memory = ""
    try:
        with open("/proc/meminfo", encoding="utf-8") as meminfo:
            total_kib = int(meminfo.readline().split()[1])
        memory = f", {total_kib / 1024 / 1024:.1f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    lines = [
        f"machine: {nproc()} cores (nproc), {cpu_model()}{memory}",
        f"python:  {platform.python_implementation()} {platform.python_version()} "
        f"on {platform.system()} {platform.release()}",
    ]
    if database_url and database_url.startswith("postgres"):
        lines.append(f"postgres: {postgres_version(database_url)}")
    return lines


def load_average() -> str:
    try:
        one, five, fifteen = os.getloadavg()
    except OSError:
        return "unknown"
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def process_tree_cpu_seconds(root_pid: int) -> float:
    """User + system CPU seconds used so far by a process and all its descendants (Linux)."""
    ticks = os.sysconf("SC_CLK_TCK")
    children: dict[int, list[int]] = {}
    usage: dict[int, float] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="utf-8") as stat_file:
                stat = stat_file.read()
        except OSError:
            continue
        # The command name may contain spaces; the fields after it are fixed.
        fields = stat[stat.rfind(")") + 2 :].split()
        pid, parent = int(entry), int(fields[1])
        children.setdefault(parent, []).append(pid)
        usage[pid] = (int(fields[11]) + int(fields[12])) / ticks
    total, pending = 0.0, [root_pid]
    while pending:
        pid = pending.pop()
        total += usage.get(pid, 0.0)
        pending.extend(children.get(pid, []))
    return total
