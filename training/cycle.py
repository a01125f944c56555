"""Train GAN / Vanilla / Long / Nest CycleGAN (thesis 8.1).

    python -m training.cycle --variant=long --M=2                      # thesis facades run
    python -m training.cycle --dataset=synthetic --image_size=64 ...   # offline
"""
from flags import bootstrap  # noqa: F401 (first: quiets TensorFlow's start-up logging)

# isort: split

from absl import app
from absl import flags as absl_flags

from flags.common import run_trainer
from flags.cycle import cycle_config, define_cycle_flags

define_cycle_flags()


def main(argv):
    run_trainer(lambda: cycle_config(absl_flags.FLAGS), argv)


if __name__ == "__main__":
    app.run(main)
