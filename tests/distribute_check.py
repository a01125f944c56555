"""Run by tests/test_devices.py in a fresh process: TensorFlow must be told about two logical CPU
devices before it starts, which a test process that already ran TensorFlow cannot do.

    python tests/distribute_check.py TMP_DIR FACADES_DIR
"""
import dataclasses
import io
import os
import sys

import numpy as np
import tensorflow as tf

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from training import checkpoints, cycle_trainer, devices  # noqa: E402
from training.config import CycleConfig  # noqa: E402
from training.cycle_step import make_cycle_train_step  # noqa: E402


def two_steps(config):
    """Replica count, the losses of two steps on global batches of 2, and the variables after."""
    runtime = devices.Runtime.of(config)
    state = cycle_trainer.build_state(config, 10, runtime)
    step = make_cycle_train_step(state.nets, state.g_optimizer, state.d_optimizer, state.pool_a,
                                 state.pool_b, state.step, config, runtime=runtime)
    rng = np.random.default_rng(0)
    batches = [{k: rng.uniform(-1, 1, (2, 32, 32, 3)).astype("float32") for k in "ab"} for _ in range(2)]
    dataset = tf.data.Dataset.from_tensor_slices(
        {k: np.stack([b[k] for b in batches]) for k in "ab"})
    losses = [{k: float(v) for k, v in step(batch).items()}
              for batch in runtime.batches(dataset)]
    variables = {v.path: v.numpy() for v in
                 state.nets.generator_variables + state.nets.discriminator_variables}
    return runtime.replicas, losses, variables


def main(tmp, facades):
    base = CycleConfig(variant="vanilla", image_size=32, load_size=36, ngf=8, ndf=8, n_blocks=1,
                       pool_size=0, batch_size=2, seed=5, jit_compile=False, dataset="unpaired",
                       data_dir=facades, log_every=1, checkpoint_every=2, num_samples=1)
    replicas, mirrored_losses, mirrored_vars = two_steps(dataclasses.replace(base, distribute="mirrored"))
    assert replicas == 2, replicas
    _, single_losses, single_vars = two_steps(base)
    for mirrored, single in zip(mirrored_losses, single_losses):
        for k in single:
            np.testing.assert_allclose(mirrored[k], single[k], rtol=1e-4, atol=1e-6, err_msg=k)
    for name, value in single_vars.items():
        # A bias in front of an instance norm has no effect and a zero gradient, so Adam turns
        # rounding noise into steps of up to lr: those are compared against that bound only.
        before_norm = name.endswith("bias") and not name.split("/")[-2].startswith("out_")
        tolerance = dict(atol=2 * 2 * base.learning_rate) if before_norm else dict(rtol=1e-3, atol=2e-6)
        np.testing.assert_allclose(mirrored_vars[name], value, err_msg=name, **tolerance)
    print("mirrored == single: ok")

    workdir = os.path.join(tmp, "run")
    mirrored = dataclasses.replace(base, distribute="mirrored", pool_size=3, workdir=workdir, max_steps=2)
    cycle_trainer.train(mirrored, progress_stream=io.StringIO())
    saved = {n: tf.train.load_variable(checkpoints.path_of(workdir, 2), n)
             for n, _ in tf.train.list_variables(checkpoints.path_of(workdir, 2)) if "pool_a" in n}
    single = dataclasses.replace(mirrored, distribute="none", max_steps=4)
    state = cycle_trainer.build_state(single, 4)
    assert checkpoints.restore_newest(workdir, state.checkpoint()) == 2
    np.testing.assert_array_equal(state.pool_a.images.numpy(),
                                  next(v for n, v in saved.items() if "images" in n))
    summary = cycle_trainer.train(single, progress_stream=io.StringIO(), extend=True)
    assert summary["start_step"] == 2 and summary["final_step"] == 4, summary
    print("resume across strategies: ok")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
