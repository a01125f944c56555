"""The model-agnostic training loop: lock, record, resume, step, log, sample, checkpoint.

It knows nothing of the model: it gets a ``tf.train.Checkpoint`` holding all training state, the
step counter inside it, a compiled ``train_step(batch) -> dict`` and functions for batches and
sample grids. Every trainer (CycleGAN, SwapGAN, the FCN, VITON) calls ``run``, so what a run
survives is decided here once: kill -9 (resume from the newest intact checkpoint), SIGTERM and
Ctrl-C (finish the step, log it, checkpoint, exit), a damaged newest checkpoint (fall back), a
diverged state (never checkpointed), a full disk (checked up front, clear error), a second process
(refused by the workdir lock).
"""
import dataclasses
import errno
import os
import signal
import time

from absl import logging
import numpy as np
import tensorflow as tf

from training import checkpoints as ckpt
from training import devices
from training import workdir as wd
from training.autojit import MeasuredJit
from training.config import ConfigError
from training.progress import ProgressBar
from training.signals import Interrupted, SignalScope
from training.summaries import RunningMean, write_png

SHOWN = ("g/total", "d/total")  # the losses on the progress bar unless a trainer says otherwise


@dataclasses.dataclass(frozen=True)
class LoopSettings:
    total_steps: int
    batch_size: int
    log_every: int
    sample_every: int
    checkpoint_every: int
    keep_checkpoints: int

    @classmethod
    def of(cls, config, total_steps):
        return cls(total_steps, config.batch_size, config.log_every, config.sample_every,
                   config.checkpoint_every, config.keep_checkpoints)


@dataclasses.dataclass(frozen=True)
class Recording:
    """What config.json records: the settings, the trainer's name and the data's fingerprint."""

    config: object
    trainer: str
    data: dict | None = None
    extend: bool = False


class _StopRequests(SignalScope):
    """The first SIGINT or SIGTERM asks the loop to stop after the current step; a second one
    interrupts at once (KeyboardInterrupt), for a step that never ends."""

    def _handle(self, signum, frame):
        if self.signum is not None:
            raise KeyboardInterrupt
        self.signum = signum
        logging.warning("%s received: stopping after this step (send it again to stop at once)",
                        signal.Signals(signum).name)


def run(*, workdir, settings, checkpoint, step, train_step, make_batches, make_samples=None,
        recording=None, shown=SHOWN, progress_stream=None):
    """Trains until ``settings.total_steps``; returns {'start_step', 'final_step', 'finished'}.

    make_batches(start_step) -> iterable of batches for steps start_step..total-1.
    make_samples() -> {name: uint8 RGB grid}, written as PNG and TensorBoard images.
    recording: written to (or checked against) config.json before anything else is written.
    """
    with wd.locked(workdir):
        ckpt.remove_partial_saves(workdir)
        saver = ckpt.Saver(workdir, checkpoint, settings.keep_checkpoints)
        wd.check_disk(workdir, max(saver.needed_bytes() - ckpt.bytes_on_disk(workdir), 0))
        if recording is not None:
            wd.record(workdir, recording.config, recording.trainer, recording.data, recording.extend,
                      settings.total_steps)
        restored = ckpt.restore_newest(workdir, checkpoint, at_most=_common_newest(workdir, step))
        start = int(step.numpy())
        if restored is not None and restored != start:
            raise ConfigError(f"{ckpt.path_of(workdir, restored)}: holds step {start}, not {restored}")
        _check_same_start(workdir, step, start)
        total = settings.total_steps
        if start >= total:
            logging.info("%s: finished (step %d of %d); nothing to do (--extend with more --epochs "
                         "or --max_steps continues it)", workdir, start, total)
            return {"start_step": start, "final_step": start, "finished": True}
        if start:
            logging.info("%s: resuming from step %d (%s)", workdir, start, ckpt.path_of(workdir, start))
        try:
            return _train(workdir, settings, saver, step, start, train_step, make_batches,
                          make_samples, shown, progress_stream)
        except OSError as e:
            if e.errno == errno.ENOSPC:
                raise ConfigError(f"--workdir={workdir}: disk full ({e.filename or e}); free space "
                                  f"and rerun to resume from {saver.newest or 'the start'}") from e
            raise


def _common_newest(workdir, step):
    """Multi-worker runs: the newest checkpoint step that every worker has on disk (a worker
    killed during a save leaves the others one checkpoint ahead); None otherwise."""
    steps = ckpt.steps_on_disk(workdir)
    newest = devices.gather_across_workers(step, steps[-1] if steps else 0)
    return None if newest is None else min(newest)


def _check_same_start(workdir, step, start):
    """Workers that restored different steps would train on silently different states."""
    starts = devices.gather_across_workers(step, start)
    if starts is not None and len(set(starts)) > 1:
        raise ConfigError(f"{workdir}: the workers restored different steps {starts}; remove the "
                          "newer checkpoints so that every worker holds the same newest step")


def _train(workdir, settings, saver, step, start, train_step, make_batches, make_samples, shown,
           progress_stream):
    total = settings.total_steps
    metrics = wd.MetricsLog(workdir)
    metrics.truncate_after(start)
    writer = tf.summary.create_file_writer(os.path.join(workdir, wd.TENSORBOARD_DIR))
    progress = ProgressBar(total, start, settings.batch_size, stream=progress_stream)
    running = RunningMean()
    clock = {"t": time.perf_counter(), "step": start}
    done = saved = start

    def log(at):
        now = time.perf_counter()
        rate = (at - clock["step"]) * settings.batch_size / max(now - clock["t"], 1e-9)
        record = {"step": at, **running.result(), "images_per_second": rate, "time": time.time()}
        clock.update(t=now, step=at)
        _log_scalars(writer, metrics, record)
        progress.update(at, {k: record[k] for k in shown if k in record}, force=True)
        diverged = sorted(k for k, v in record.items() if not np.isfinite(v))
        if diverged:
            raise FloatingPointError(
                f"non-finite {', '.join(diverged)} at step {at} (logged in metrics.jsonl); not "
                f"checkpointed, the newest checkpoint is {saver.newest or 'none'}")

    if isinstance(train_step, MeasuredJit):  # --jit_compile=auto on a CPU
        train_step.remaining = total - start
    with _StopRequests() as stop:
        try:
            for batch in make_batches(start):
                running.add(train_step(batch))
                done += 1
                if done == start + 1 and isinstance(train_step, MeasuredJit):
                    _record_jit_choice(workdir, train_step.decision)
                is_last = done >= total
                progress.update(done)
                if done % settings.log_every == 0 or is_last:
                    log(done)
                if make_samples and (done % settings.sample_every == 0 or is_last):
                    _write_samples(workdir, writer, done, make_samples())
                if done % settings.checkpoint_every == 0 or is_last:
                    if running.count:  # the state is about to be saved: see its losses first
                        log(done)
                    saver.save(done)
                    saved = done
                if stop.signum is not None and not is_last:
                    raise Interrupted(stop.signum)
                if is_last:
                    break
        except KeyboardInterrupt as e:
            # Interrupted: after a whole step. A bare KeyboardInterrupt (a second signal, or one
            # raised elsewhere) may land anywhere; the step counter says what the state holds.
            at = int(step.numpy())
            if running.count and at == done:
                log(done)
            if saved != at:
                saver.save(at)
            progress.close()
            logging.warning("interrupted at step %d (%s); checkpoint saved, rerun the same command "
                            "to resume", at, e.args[0] if e.args else "KeyboardInterrupt")
            raise
        finally:
            writer.flush()
    progress.close()
    if done < total:
        raise RuntimeError(f"the input pipeline ended at step {done} of {total}")
    logging.info("%s: finished at step %d", workdir, done)
    return {"start_step": start, "final_step": done, "finished": True}


def _record_jit_choice(workdir, decision):
    """config.json's history keeps what --jit_compile=auto chose, with the figures it chose by."""
    if os.path.exists(wd.path(workdir, wd.CONFIG_FILE)):
        wd.append_history(workdir, {"jit_compile_auto": "xla" if decision["xla"] else "tf_kernels",
                                    **{k: v for k, v in decision.items() if k not in ("xla", "time")}})


def _log_scalars(writer, metrics, record):
    metrics.append(record)
    with writer.as_default(step=record["step"]):
        for key, value in record.items():
            if key not in ("step", "time") and np.isfinite(value):
                tf.summary.scalar(key, value)


def _write_samples(workdir, writer, step, grids):
    with writer.as_default(step=step):
        for name, image in grids.items():
            write_png(os.path.join(workdir, wd.SAMPLES_DIR, f"{name}_step{step:07d}.png"), image)
            tf.summary.image(f"samples/{name}", image[None], max_outputs=1)
