"""The model-agnostic training loop: resume, step, log, sample, checkpoint.

It knows nothing of the model: it gets a ``tf.train.Checkpoint`` holding all training state, the
step counter inside it, a compiled ``train_step(batch) -> dict`` and functions for batches and
sample grids. CycleGAN and SwapGAN trainers both call ``run``.
"""
import dataclasses
import os
import time

from absl import logging
import numpy as np
import tensorflow as tf

from training import workdir as wd
from training.progress import ProgressBar
from training.summaries import RunningMean, write_png

SHOWN = ("g/total", "d/total")  # the losses on the progress bar


@dataclasses.dataclass(frozen=True)
class LoopSettings:
    total_steps: int
    batch_size: int
    log_every: int
    sample_every: int
    checkpoint_every: int
    keep_checkpoints: int


def checkpoint_manager(workdir, checkpoint, keep):
    return tf.train.CheckpointManager(checkpoint, os.path.join(workdir, wd.CHECKPOINT_DIR),
                                      max_to_keep=keep, checkpoint_name="ckpt")


def run(*, workdir, settings, checkpoint, step, train_step, make_batches, make_samples=None,
        progress_stream=None):
    """Trains until ``settings.total_steps``; returns {'start_step', 'final_step', 'finished'}.

    make_batches(start_step) -> iterable of batches for steps start_step..total-1.
    make_samples() -> {name: uint8 RGB grid}, written as PNG and TensorBoard images.
    A rerun restores the newest checkpoint and continues; a finished run returns at once. On
    Ctrl-C the state is checkpointed before leaving, so nothing done is lost.
    """
    manager = checkpoint_manager(workdir, checkpoint, settings.keep_checkpoints)
    if manager.latest_checkpoint:
        checkpoint.restore(manager.latest_checkpoint).assert_existing_objects_matched()
    start = int(step.numpy())
    total = settings.total_steps
    if start >= total:
        logging.info("%s: finished (step %d of %d); nothing to do", workdir, start, total)
        return {"start_step": start, "final_step": start, "finished": True}
    if start:
        logging.info("%s: resuming from step %d (%s)", workdir, start, manager.latest_checkpoint)
    metrics = wd.MetricsLog(workdir)
    metrics.truncate_after(start)
    writer = tf.summary.create_file_writer(os.path.join(workdir, wd.TENSORBOARD_DIR))
    progress = ProgressBar(total, start, settings.batch_size, stream=progress_stream)
    running = RunningMean()
    done, last_log_t, last_log_step = start, time.perf_counter(), start
    try:
        for batch in make_batches(start):
            running.add(train_step(batch))
            done += 1
            is_last = done >= total
            progress.update(done)
            if done % settings.log_every == 0 or is_last:
                now = time.perf_counter()
                rate = (done - last_log_step) * settings.batch_size / max(now - last_log_t, 1e-9)
                record = {"step": done, **running.result(), "images_per_second": rate, "time": time.time()}
                last_log_t, last_log_step = now, done
                _log_scalars(writer, metrics, record)
                diverged = sorted(k for k, v in record.items() if not np.isfinite(v))
                if diverged:
                    raise FloatingPointError(
                        f"non-finite {', '.join(diverged)} at step {done} (logged in metrics.jsonl); "
                        f"not checkpointed, the newest checkpoint is {manager.latest_checkpoint}")
                progress.update(done, {k: record[k] for k in SHOWN if k in record}, force=True)
            if make_samples and (done % settings.sample_every == 0 or is_last):
                _write_samples(workdir, writer, done, make_samples())
            if done % settings.checkpoint_every == 0 or is_last:
                manager.save(checkpoint_number=done)
            if is_last:
                break
    except KeyboardInterrupt:
        manager.save(checkpoint_number=int(step.numpy()))
        progress.close()
        logging.warning("interrupted at step %d; checkpoint saved, rerun the same command to resume",
                        int(step.numpy()))
        raise
    finally:
        writer.flush()
    progress.close()
    if done < total:
        raise RuntimeError(f"the input pipeline ended at step {done} of {total}")
    logging.info("%s: finished at step %d", workdir, done)
    return {"start_step": start, "final_step": done, "finished": True}


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
