"""Ctrl-C that a long-running command cannot lose.

Python raises :class:`KeyboardInterrupt` in whatever the main thread runs when the signal arrives.
If that is a finalizer the garbage collector called (a closed socket's, a session's), the exception
is printed as "ignored" and dropped, and a ``wait`` would poll on as if Ctrl-C had never been
pressed. :func:`latched_interrupt` remembers the signal as well as raising it, and the command's
pauses (:meth:`InterruptLatch.sleep`) raise it again if it was swallowed.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType


class InterruptLatch:
    """Whether Ctrl-C was pressed; set by the SIGINT handler :func:`latched_interrupt` installs."""

    def __init__(self) -> None:
        self.pressed = False

    def handle(self, signum: int, frame: FrameType | None) -> None:
        """The SIGINT handler: remember, then interrupt as Python's own handler does."""
        self.pressed = True
        raise KeyboardInterrupt

    def check(self) -> None:
        """Raise :class:`KeyboardInterrupt` if Ctrl-C was pressed (and perhaps swallowed) before."""
        if self.pressed:
            raise KeyboardInterrupt

    def sleep(self, seconds: float) -> None:
        """Pause ``seconds``; raise :class:`KeyboardInterrupt` if Ctrl-C comes, or came, meanwhile."""
        self.check()
        time.sleep(seconds)
        self.check()


@contextmanager
def latched_interrupt() -> Iterator[InterruptLatch]:
    """Latch SIGINT for the duration of the block (main thread only); the previous handler after."""
    latch = InterruptLatch()
    previous = signal.signal(signal.SIGINT, latch.handle)
    try:
        yield latch
    finally:
        signal.signal(signal.SIGINT, previous)
