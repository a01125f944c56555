"""Native libraries' stray stderr lines that mean nothing on a machine without a GPU.

TensorFlow's CUDA loader logs ``failed call to cuInit`` (or ``Could not find cuda drivers``) on
every CPU-only machine whatever TF_CPP_MIN_LOG_LEVEL says, and libjpeg prints ``Improper call to
JPEG library`` before our own one-line error about an undecodable file. TensorFlow 2.21 also logs,
before its logging is initialised (so TF_CPP_MIN_LOG_LEVEL cannot hide them), a banner about
oneDNN's round-off and absl's notice about that, twice per process; and grappler's remapper
reports ``remapper failed: ... Mutation::Apply error: fanout ...`` at the first train step when it
declines to fuse a discriminator's conv + bias + LeakyReLU whose pre-activation the backward pass
needs (turning the remapper off altogether moved a Vanilla step by less than the 10% noise of the
2-core Zen 4 it was timed on). All are written to file descriptor 2 by C++ code, so they are
filtered there: fd 2 becomes a pipe into a small filter process that copies every other line to
the real stderr. The filter ignores signals and exits when the last writer is gone, so nothing is
lost even when this process aborts. Only on machines without an NVIDIA device, where the CUDA
lines can never matter.
"""
import atexit
import glob
import os
import subprocess
import sys

NOISE = (b"failed call to cuInit", b"Could not find cuda drivers", b"Improper call to JPEG library",
         b"All log messages before absl::InitializeLog() is called", b"oneDNN custom operations are on",
         b"remapper failed: INVALID_ARGUMENT: Mutation::Apply error: fanout")
_FILTER = """
import signal, sys
signal.signal(signal.SIGINT, signal.SIG_IGN)
signal.signal(signal.SIGTERM, signal.SIG_IGN)
noise = tuple(n.encode() for n in sys.argv[1:])
out = sys.stdout.buffer
for line in sys.stdin.buffer:
    if not any(n in line for n in noise):
        out.write(line)
        out.flush()
"""


def cpu_only():
    return not glob.glob("/dev/nvidia[0-9]*")


class StderrFilter:
    """Filters fd 2 until ``close()`` (registered at exit)."""

    def __init__(self, noise=NOISE):
        self.saved = os.dup(2)
        read, write = os.pipe()
        self.process = subprocess.Popen(
            [sys.executable, "-S", "-c", _FILTER, *(n.decode() for n in noise)], stdin=read,
            stdout=self.saved, stderr=subprocess.DEVNULL, process_group=0)
        os.close(read)
        os.dup2(write, 2)
        os.close(write)
        atexit.register(self.close)

    def close(self):
        """Gives fd 2 back and waits until every line written before has been passed on."""
        if self.saved is None:
            return
        sys.stderr.flush()
        os.dup2(self.saved, 2)  # our end of the pipe closes: the filter reads to its end
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass  # a child of ours still writes into it; the filter ends after that child
        os.close(self.saved)
        self.saved = None
        atexit.unregister(self.close)


_installed = []


def quiet_cpu_noise():
    """In a command of ours (``python -m training.*``, ``evaluation.*``, ``datasets.*``; never in
    a test runner or a library user's process) on a machine without an NVIDIA device: installs
    the filter once."""
    main = getattr(sys.modules.get("__main__"), "__spec__", None)
    ours = main is not None and main.name.split(".")[0] in ("training", "evaluation", "datasets")
    if ours and not _installed and cpu_only():
        _installed.append(StderrFilter())
