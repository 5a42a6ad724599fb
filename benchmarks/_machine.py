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
