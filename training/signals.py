"""SIGINT / SIGTERM handling shared by the training loop and the reproduction of a table
(TensorFlow-free, so a command that only starts trainers does not load it)."""
import signal
import threading


class Interrupted(KeyboardInterrupt):
    """A SIGINT or SIGTERM stop, after its checkpoint (the loop) or its step's (a reproduction);
    ``run_main`` exits with 128 + ``signum``."""

    def __init__(self, signum):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


class SignalScope:
    """Routes SIGINT and SIGTERM to ``self._handle`` while in the ``with`` block (main thread only,
    where Python delivers signals), and puts the previous handlers back afterwards."""

    def __init__(self):
        self.signum, self._previous = None, {}

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum, frame):
        raise NotImplementedError

    def __exit__(self, *exc):
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
