"""What the benchmarks do with the processes they start: read their CPU time (and the machine's, to tell
when other work disturbed a run), stop them."""

import os
import signal
import subprocess
from pathlib import Path


def cpu_seconds(pid: int) -> float:
    """utime + stime of a live process, all threads; NaN once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tree_cpu_seconds(pid: int) -> float:
    """cpu_seconds of a process and all its live descendants (a supervisor and its workers)."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parents[int(stat.parent.name)] = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
    tree, grown = {pid}, True
    while grown:
        children = {child for child, parent in parents.items() if parent in tree} - tree
        tree |= children
        grown = bool(children)
    return sum(cpu_seconds(member) for member in tree)


def machine_busy_seconds() -> float:
    """CPU time the whole machine spent busy (all cores, /proc/stat: everything but idle and iowait)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def command_cpu_seconds(prefix: str, contains: str = "") -> float:
    """CPU of the live processes whose command line starts with `prefix` and holds `contains`."""
    total = 0.0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().decode(errors="replace").replace("\0", " ")
        except OSError:
            continue
        if cmdline.startswith(prefix) and contains in cmdline:
            value = cpu_seconds(int(entry))
            if value == value:
                total += value
    return total


def postgres_cpu_seconds(db_name: str) -> float:
    """CPU of the PostgreSQL backends connected to the bench database."""
    return command_cpu_seconds("postgres:", f" {db_name} ")


def terminate(proc: subprocess.Popen, *, grace_s: float = 15) -> None:
    """SIGTERM, then SIGKILL if it has not exited within `grace_s`."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
