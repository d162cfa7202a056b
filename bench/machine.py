"""How busy the machine was with work other than the bench's, so a figure taken on a busy machine says so.

``Others`` snapshots the CPU time of every process outside this one's tree (gunicorn, wrk and the
export processes are the bench's own; PostgreSQL's server is left out too, since the bench keeps it
busy). A test suite running beside the bench shows up here and explains a figure that dropped.
Linux only (/proc); elsewhere it reports nothing.
"""
from __future__ import annotations

import os
import time
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
NOT_OTHERS = {"postgres"}
BUSY_CORES = 0.25  # more than this, on average, from other processes: the figure is marked as noisy


def _processes() -> dict[int, tuple[int, str, float]]:
    """pid: (parent pid, command, CPU seconds so far) of every process that can be read."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "stat").read_text()
        except OSError:  # it ended meanwhile
            continue
        command = raw[raw.index("(") + 1:raw.rindex(")")]
        fields = raw[raw.rindex(")") + 2:].split()
        found[int(entry.name)] = (int(fields[1]), command, (int(fields[11]) + int(fields[12])) / TICKS)
    return found


def _others() -> dict[int, float]:
    """CPU seconds of each process that is neither this one's descendant nor PostgreSQL's."""
    processes = _processes()
    mine = {os.getpid()}
    changed = True
    while changed:
        changed = False
        for pid, (parent, _, _) in processes.items():
            if parent in mine and pid not in mine:
                mine.add(pid)
                changed = True
    return {pid: seconds for pid, (_, command, seconds) in processes.items()
            if pid not in mine and command not in NOT_OTHERS}


class Others:
    """CPU used by other processes between ``Others()`` and ``cores()``, in cores on average."""

    def __init__(self) -> None:
        self.available = Path("/proc/self/stat").exists()
        self.started = time.monotonic()
        self.before = _others() if self.available else {}

    def cores(self) -> float | None:
        if not self.available:
            return None
        after = _others()
        used = sum(seconds - self.before.get(pid, 0.0) for pid, seconds in after.items())
        return max(0.0, used) / max(time.monotonic() - self.started, 1e-6)


def busy_note(cores: float | None) -> str:
    """A few words for a figure measured while other processes used more than BUSY_CORES."""
    return f"busy machine: others used {cores:.2f} cores" if cores is not None and cores > BUSY_CORES else ""
