"""Start-up of every command, imported first by each entry point (``from flags import bootstrap``).

It quiets TensorFlow's C++ start-up logging, which is read when TensorFlow loads, so it must run
before that, and on machines without an NVIDIA device filters the CUDA and libjpeg lines that
native code writes whatever the log level (``flags.native_logs``). It acts only when the process
was started as one of our commands (``python -m training.cycle`` and the like): importing a module
that is also a command, from a test or a notebook, leaves the environment alone.
"""
import os
import sys

from flags.native_logs import quiet_cpu_noise

PACKAGES = ("training", "evaluation", "datasets", "flags")


def started_as_command():
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    return spec is not None and spec.name.split(".")[0] in PACKAGES


def configure():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    quiet_cpu_noise()


if started_as_command():
    configure()
