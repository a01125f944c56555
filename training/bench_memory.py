"""Peak memory of a benchmarked side: the resident set on a CPU, a framework's own figure on an
accelerator. TF-free, so that the JAX benchmark never imports TensorFlow."""
import gc


def size(n):
    return f"{n / 2 ** 30:.2f} GiB" if n >= 2 ** 30 else f"{n / 2 ** 20:.0f} MiB"


class RssMemory:
    """CPU: peak resident set over the timed steps minus the resident set before the build. The peak
    is reset through /proc/self/clear_refs; where that is refused it is the process's peak."""

    label = "peak RSS growth"

    def __init__(self):
        gc.collect()
        self.base = self._status("VmRSS")

    @staticmethod
    def _status(key):
        with open("/proc/self/status", encoding="ascii") as f:
            return next(int(line.split()[1]) * 1024 for line in f if line.startswith(key + ":"))

    def reset_peak(self):
        try:
            with open("/proc/self/clear_refs", "w", encoding="ascii") as f:
                f.write("5")
        except OSError:
            self.label = "peak RSS growth (process peak)"

    def peak(self):
        return self._status("VmHWM") - self.base


class DeviceMemory:
    """A framework's own peak on an accelerator, through the callables it offers."""

    def __init__(self, label, reset, peak):
        self.label, self.reset_peak, self.peak = label, reset, peak
