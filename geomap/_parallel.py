"""Work shared with forked processes on the machine's cores (Linux), else done here.

:func:`fill_rows` computes the rows of a table in slices side by side;
:class:`Background` runs one piece of work beside the caller.

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

import contextlib
import gc
import itertools
import logging
import mmap
import os
import pickle
import sys
import threading
import warnings
from collections.abc import Callable, Iterator
from typing import Any

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


@contextlib.contextmanager
def _heap_kept_shared() -> Iterator[None]:
    """Around forks: the objects alive now are left out of garbage collection in the children.

    A child's collection of the parent's objects would write to every page
    holding them, and each page written is copied; frozen (:func:`gc.freeze`),
    they are not collected in the children, whose pages stay shared. This
    process collects them again after the block.
    """
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


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
        with _heap_kept_shared():
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


class Background:
    """Run ``work`` in a forked process (where one may fork) while the caller goes on.

    :meth:`result` gives what ``work`` returned, or raises what it raised (the
    same class and message); warnings it gave are given again there. Where
    forking is not available or safe (:func:`can_fork`), or ``fork`` is
    False, ``work`` runs when :meth:`result` is called, in this process.

    Parameters
    ----------
    work
        What to run; its result and errors must survive pickling (an error
        that does not comes back as a :class:`~geomap.errors.GeomapError`
        with its message).
    what
        What the work does, for the message if the process dies.
    fork
        Whether to fork; :func:`can_fork` by default.
    """

    def __init__(
        self,
        work: Callable[[], Any],
        *,
        what: str = "the work in a second process",
        fork: bool | None = None,
    ) -> None:
        self._work: Callable[[], Any] | None = work
        self._what = what
        self._process: Any = None
        if not (can_fork() if fork is None else fork):
            return
        import multiprocessing

        context = multiprocessing.get_context("fork")
        self._receive, send = context.Pipe(duplex=False)

        def run() -> None:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                try:
                    outcome: tuple[str, Any] = ("ok", work())
                except BaseException as err:  # everything goes back to the parent
                    logger.debug("background work failed", exc_info=True)
                    outcome = ("error", portable(err))
            given = [(str(w.message), w.category, w.filename, w.lineno) for w in caught]
            send.send((outcome, given))
            send.close()

        self._process = context.Process(target=run, daemon=True)
        with _heap_kept_shared():
            self._process.start()
        send.close()
        self._work = None

    @property
    def forked(self) -> bool:
        """Whether ``work`` runs in another process."""
        return self._process is not None

    def result(self) -> Any:
        """What ``work`` returned; raises what it raised.

        Returns
        -------
        object
            ``work``'s result.

        Raises
        ------
        OutputError
            If the process ended without an answer (killed, or out of memory).
        """
        from geomap.errors import OutputError

        if self._work is not None:
            work, self._work = self._work, None
            return work()
        try:
            (status, value), given = self._receive.recv()
        except EOFError:
            self._process.join()
            raise OutputError(
                f"{self._what} stopped unexpectedly (exit code {self._process.exitcode}); "
                "nothing was written. Run again; if it recurs, report it with the command you ran"
            ) from None
        self._process.join()
        for message, category, filename, lineno in given:
            warnings.warn_explicit(message, category, filename, lineno)
        if status == "error":
            raise value
        return value

    def stop(self) -> None:
        """End the process if it is still running (after a failure here)."""
        if self._process is not None and self._process.is_alive():
            self._process.terminate()
            self._process.join()
        if self._process is not None:
            self._receive.close()
            self._process = None


def portable(err: BaseException) -> BaseException:
    """``err`` if it survives pickling unchanged, else a GeomapError with its message.

    Parameters
    ----------
    err
        An error raised in another process.

    Returns
    -------
    BaseException
        What can be sent back to the parent.
    """
    from geomap.errors import GeomapError

    try:
        copy = pickle.loads(pickle.dumps(err))
        if type(copy) is type(err) and str(copy) == str(err):
            return err
    except Exception:  # any failure to pickle means: send the message instead
        pass
    return GeomapError(f"{type(err).__name__}: {err}")
