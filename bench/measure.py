"""What the benches print beside their figures: CPU time and the machine's load."""

from __future__ import annotations

import os
import resource


def cpu_seconds() -> float:
    """CPU time of this process and its finished children (an embedding pool's processes)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def children_cpu() -> float:
    """CPU time of the finished child processes (commands run by the bench)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def load_average() -> str:
    """The 1-, 5- and 15-minute load averages, e.g. "1.20, 0.95, 0.80"."""
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())
