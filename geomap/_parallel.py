"""Rows of a table computed by forked processes on the machine's cores (Linux), else here.

Route searches over a county network hold Python's global interpreter lock,
so threads do not run them side by side. On Linux a fork is cheap: each
child shares the parent's memory (the network, already compiled) page by
page until it writes, so :func:`fill_rows` gives each process a slice of
the rows and the children write theirs straight into memory shared with the
parent, with nothing pickled or copied. Every row is computed by the same
call whichever process runs it, so the table is the same, bit for bit, as
the one computed here alone.

Forking is used only where it is safe and worth it: on Linux, with more than
one core available, when no other thread is running (a fork copies only the
calling thread, so a lock another thread held would stay locked in the
child), and for work large enough to repay the fork. The environment
variable ``GEOMAP_PROCESSES`` sets the most processes used (``1``: none
forked).
"""

from __future__ import annotations

import itertools
import logging
import mmap
import os
import sys
import threading
from collections.abc import Callable

import numpy as np

logger = logging.getLogger(__name__)

#: The environment variable that caps the processes (``1`` turns forking off).
PROCESSES_VARIABLE = "GEOMAP_PROCESSES"


def cores() -> int:
    """The cores this process may run on (its CPU affinity where known).

    Returns
    -------
    int
        At least 1.
    """
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not Linux
        return max(1, os.cpu_count() or 1)


def processes() -> int:
    """How many processes :func:`fill_rows` may use: the cores, capped by ``GEOMAP_PROCESSES``.

    Returns
    -------
    int
        At least 1; a value of ``GEOMAP_PROCESSES`` that is not a whole
        number of at least 1 is ignored.
    """
    available = cores()
    text = os.environ.get(PROCESSES_VARIABLE, "").strip()
    if text:
        try:
            wanted = int(text)
        except ValueError:
            logger.debug("ignoring %s=%r: not a whole number", PROCESSES_VARIABLE, text)
        else:
            if wanted >= 1:
                return min(available, wanted)
    return available


def can_fork() -> bool:
    """Whether work may go to forked processes: Linux, two cores or more, no other threads.

    Returns
    -------
    bool
        True where a fork is available and safe.
    """
    return sys.platform.startswith("linux") and processes() > 1 and threading.active_count() == 1


def fill_rows(
    compute: Callable[[int, int], np.ndarray],
    count: int,
    width: int,
    *,
    worth: bool = True,
) -> np.ndarray:
    """A ``(count, width)`` float table, its rows computed in slices, side by side where possible.

    Parameters
    ----------
    compute
        ``compute(start, stop)`` gives rows ``start`` to ``stop`` (a
        ``(stop - start, width)`` array); it must not depend on which process
        runs it.
    count, width
        The table's shape.
    worth
        Whether the work is large enough to repay forking (the caller's
        estimate); when False, or where forking is not available or safe,
        every row is computed here.

    Returns
    -------
    numpy.ndarray
        The table, the same as ``compute(0, count)``.

    Raises
    ------
    Exception
        Whatever ``compute`` raises for the rows computed here; rows a child
        failed to compute are computed here again, so their error is raised too.
    """
    parts = min(processes(), count) if worth else 1
    if parts <= 1 or not can_fork():
        return np.asarray(compute(0, count), dtype=float).reshape(count, width)
    bounds = np.linspace(0, count, parts + 1).round().astype(int).tolist()
    # anonymous shared memory: what a child writes there, the parent reads
    shared = mmap.mmap(-1, max(1, count * width * 8))
    table = np.frombuffer(shared, dtype=float, count=count * width).reshape(count, width)
    children: list[tuple[int, int, int]] = []
    try:
        for start, stop in itertools.pairwise(bounds[1:]):
            pid = os.fork()
            if pid == 0:  # the child: compute its rows into the shared table, then go
                status = 1
                try:
                    table[start:stop] = compute(start, stop)
                    status = 0
                finally:
                    os._exit(status)
            children.append((pid, start, stop))
        table[bounds[0] : bounds[1]] = compute(bounds[0], bounds[1])
        while children:
            pid, start, stop = children[0]
            _, status = os.waitpid(pid, 0)
            children.pop(0)
            if status != 0:
                logger.debug("a forked search ended with status %s; searching here", status)
                table[start:stop] = compute(start, stop)
    finally:
        for pid, _start, _stop in children:  # after an error or an interruption here
            try:
                os.kill(pid, 9)
                os.waitpid(pid, 0)
            except (ChildProcessError, ProcessLookupError):
                pass
    # the table keeps the shared memory alive for as long as it is used
    return table
