"""Process trees: find which component runs a process, crash a whole tree, leave nothing behind.

Every component runs in its own process group, but Airflow gives each *task* process a process
group of its own too (the task supervisor signals the task's children through it), so signalling
a Celery worker's group misses the tasks it runs. These helpers follow parent links instead,
with the tree frozen (SIGSTOP) while it is listed so nothing forks past the snapshot.
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Iterable, Mapping
from typing import TypeVar

import psutil

T = TypeVar("T")


def descendants(pid: int) -> list[psutil.Process]:
    """Every living descendant of ``pid`` (children, their children...), or [] if it is gone."""
    try:
        return list(psutil.Process(pid).children(recursive=True))
    except psutil.Error:
        return []


def owner(pid: int, roots: Mapping[int, T]) -> T | None:
    """The value in ``roots`` whose key is ``pid`` or one of its ancestors; None if none is."""
    try:
        process: psutil.Process | None = psutil.Process(pid)
    except psutil.Error:
        return None
    while process is not None:
        if process.pid in roots:
            return roots[process.pid]
        try:
            process = process.parent()
        except psutil.Error:
            return None
    return None


def kill_tree(leader: int) -> list[int]:
    """SIGKILL the process group ``leader`` leads and every descendant, as a crash would.

    The group is stopped first, so no process forks between the listing and the kill. Returns
    the pids killed besides the group's.
    """
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(leader, signal.SIGSTOP)
    tree = descendants(leader)
    for process in tree:
        with contextlib.suppress(psutil.Error):
            process.send_signal(signal.SIGSTOP)
    tree = descendants(leader) or tree
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(leader, signal.SIGKILL)
    killed = []
    for process in tree:
        with contextlib.suppress(psutil.Error):
            process.kill()
            killed.append(process.pid)
    return killed


def kill_leftovers(processes: Iterable[psutil.Process]) -> list[int]:
    """SIGKILL those of ``processes`` still running (psutil checks it is the same process)."""
    killed = []
    for process in processes:
        with contextlib.suppress(psutil.Error):
            if process.is_running():
                process.kill()
                killed.append(process.pid)
    return killed
