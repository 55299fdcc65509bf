"""Scheduling priority of the app's runs, so that pages stay responsive while runs work."""

from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path

# How much lower than the pages the app's runs are scheduled (nice steps). On 2 cores, four
# CPU-bound runs at equal priority made a page take 10x longer to render; a niced run only
# yields the cores while a page is working, so it costs the run next to nothing otherwise.
APP_RUN_NICE = int(os.environ.get("TUNING_STUDIO_RUN_NICE", "10"))


def lower_priority(nice: int, pid: int | None = None) -> None:
    """Raise the nice value of the calling thread (Linux schedules threads one by one, and the
    threads it starts inherit it) or of process `pid` by `nice` steps. Best effort.

    Linux (autogroup) first shares the CPU between sessions, and a nice value counts only
    against processes of the same session. So for a process that leads its own session (the
    app's worker processes) the session's nice is set too: the runs then yield to the server
    and to everything else on the machine, not only to the server's threads."""
    if nice <= 0:
        return
    who = threading.get_native_id() if pid is None else pid
    with contextlib.suppress(OSError, AttributeError):  # not Linux, or the process is gone
        os.setpriority(os.PRIO_PROCESS, who, os.getpriority(os.PRIO_PROCESS, who) + nice)
        if pid is not None and os.getsid(pid) == pid:
            Path(f"/proc/{pid}/autogroup").write_text(str(min(nice, 19)))
