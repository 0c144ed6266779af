"""Child processes that do not outlive the process that started them."""

import ctypes
import signal
from collections.abc import Callable

PR_SET_PDEATHSIG = 1  # linux/prctl.h
_prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up here: a preexec_fn must not load libraries


def die_with_parent(sig: signal.Signals = signal.SIGTERM) -> Callable[[], None]:
    """A `preexec_fn` for `subprocess.Popen`: the child gets `sig` when its parent dies, even by SIGKILL,
    so a killed supervisor (or test run) leaves no worker serving calls or reading streams unwatched."""

    def arrange() -> None:
        _prctl(PR_SET_PDEATHSIG, int(sig))

    return arrange
