"""Native libraries' stray stderr lines that mean nothing on a machine without a GPU.

TensorFlow's CUDA loader logs ``failed call to cuInit`` (or ``Could not find cuda drivers``) on
every CPU-only machine whatever TF_CPP_MIN_LOG_LEVEL says, and libjpeg prints ``Improper call to
JPEG library`` before our own one-line error about an undecodable file. Both are written to file
descriptor 2 by C++ code, so they are filtered there: fd 2 becomes a pipe whose lines are copied
to the real stderr unless they hold one of NOISE. Only on machines without an NVIDIA device, where
the CUDA lines can never matter; restored (and drained, so no line is lost) at exit.
"""
import atexit
import glob
import os
import threading

NOISE = (b"failed call to cuInit", b"Could not find cuda drivers", b"Improper call to JPEG library")


def cpu_only():
    return not glob.glob("/dev/nvidia[0-9]*")


class StderrFilter:
    """Filters fd 2 until ``close()`` (registered at exit)."""

    def __init__(self, noise=NOISE):
        self.noise = noise
        self.saved = os.dup(2)
        read, write = os.pipe()
        os.dup2(write, 2)
        os.close(write)
        self.thread = threading.Thread(target=self._pump, args=(read,), daemon=True)
        self.thread.start()
        atexit.register(self.close)

    def _pump(self, read):
        with os.fdopen(read, "rb") as source:
            for line in source:
                if not any(n in line for n in self.noise):
                    os.write(self.saved, line)

    def close(self):
        """Gives fd 2 back and waits until every line written before has been passed on."""
        if self.saved is None:
            return
        os.dup2(self.saved, 2)  # the pipe's last writer is gone: the pump reads to its end
        self.thread.join(timeout=5)
        os.close(self.saved)
        self.saved = None
        atexit.unregister(self.close)


_installed = []


def quiet_cpu_noise():
    """In a command of ours (``python -m training.*``, ``evaluation.*``, ``datasets.*``; never in
    a test runner or a library user's process) on a machine without an NVIDIA device: installs
    the filter once."""
    import sys
    main = getattr(sys.modules.get("__main__"), "__spec__", None)
    ours = main is not None and main.name.split(".")[0] in ("training", "evaluation", "datasets")
    if ours and not _installed and cpu_only():
        _installed.append(StderrFilter())
