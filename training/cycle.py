"""Train GAN / Vanilla / Long / Nest CycleGAN (thesis 8.1).

    python -m training.cycle --variant=long --M=2                      # thesis facades run
    python -m training.cycle --dataset=synthetic --image_size=64 ...   # offline
"""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app  # noqa: E402
from absl import flags as absl_flags  # noqa: E402

from flags.common import run_main  # noqa: E402
from flags.cycle import cycle_config, define_cycle_flags  # noqa: E402
from training import cycle_trainer  # noqa: E402

define_cycle_flags()


def main(argv):
    run_main(lambda: cycle_trainer.train(cycle_config(absl_flags.FLAGS),
                                         extend=absl_flags.FLAGS.extend), argv)


if __name__ == "__main__":
    app.run(main)
