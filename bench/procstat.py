"""What the benchmarks read about a process from `/proc`: CPU seconds, RSS, peak RSS.

Linux only (the benchmark machine). CPU time is `utime + stime` of `/proc/<pid>/stat`, in clock
ticks (10 ms), so it is read over windows of seconds, never per request.
"""

from __future__ import annotations

import os

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU seconds the process has used so far."""
    with open(f"/proc/{pid}/stat", "rb") as handle:
        data = handle.read()
    # The command name (field 2) may contain spaces; the fields after its closing ")" do not.
    fields = data[data.rindex(b")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def memory_kb(pid: int) -> dict[str, int]:
    """`VmRSS` (resident now) and `VmHWM` (peak resident since start or the last reset), in KiB."""
    found: dict[str, int] = {}
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            if line.startswith(("VmRSS:", "VmHWM:")):
                name, value = line.split(":", 1)
                found[name] = int(value.split()[0])
    return found


def rss_kb(pid: int) -> int:
    return memory_kb(pid)["VmRSS"]


def reset_peak_rss(pid: int) -> bool:
    """Reset `VmHWM` to the current RSS (writing 5 to `clear_refs`); False when not permitted."""
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as handle:
            handle.write("5")
    except OSError:
        return False
    return True
