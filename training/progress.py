"""A dependency-free progress bar: step, chosen losses, images/s and ETA."""
import sys
import time


def _duration(seconds):
    seconds = int(max(seconds, 0))
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


class ProgressBar:
    """Redraws one line on a terminal; elsewhere (logs, CI) prints a line per ``show`` call."""

    def __init__(self, total, start, batch_size, stream=None, width=24, min_interval=0.2):
        self.total, self.start, self.batch_size = total, start, batch_size
        self.stream = stream or sys.stderr
        self.width, self.min_interval = width, min_interval
        self.interactive = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.values = {}
        self.t0 = self.last_draw = time.perf_counter()
        self.rate_t, self.rate_step, self.rate = self.t0, start, 0.0

    def update(self, step, values=None, force=False):
        now = time.perf_counter()
        if values is not None:
            self.values = values
        if step > self.rate_step and (now - self.rate_t >= 1.0 or force):
            self.rate = (step - self.rate_step) * self.batch_size / max(now - self.rate_t, 1e-9)
            self.rate_t, self.rate_step = now, step
        if self.interactive and (force or now - self.last_draw >= self.min_interval):
            self.stream.write("\r" + self.line(step, now))
            self.stream.flush()
            self.last_draw = now
        elif not self.interactive and force:
            self.stream.write(self.line(step, now) + "\n")
            self.stream.flush()

    def line(self, step, now=None):
        now = now or time.perf_counter()
        frac = step / self.total if self.total else 1.0
        filled = int(self.width * frac)
        done = step - self.start
        eta = (now - self.t0) / done * (self.total - step) if done else 0.0
        shown = " ".join(f"{k} {v:.3f}" for k, v in self.values.items())
        return (f"step {step}/{self.total} [{'#' * filled}{'.' * (self.width - filled)}] "
                f"{100 * frac:3.0f}% | {shown} | {self.rate:.2f} img/s | ETA {_duration(eta)}")

    def close(self):
        if self.interactive:
            self.stream.write("\n")
            self.stream.flush()
