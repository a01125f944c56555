"""Train SwapGAN (thesis 8.2) or one of its ablations (Table 8.3).

    python -m training.swapgan                                          # synthetic persons, thesis settings
    python -m training.swapgan --dataset=deepfashion --data_dir=data/deepfashion
    python -m training.swapgan --generators=I,III --workdir=runs/swapgan/I_III
"""
from flags import bootstrap  # noqa: F401 (first: quiets TensorFlow's start-up logging)

# isort: split

from absl import app
from absl import flags as absl_flags

from flags.common import run_trainer
from flags.swapgan import define_swapgan_flags, swapgan_config

define_swapgan_flags()


def main(argv):
    run_trainer(lambda: swapgan_config(absl_flags.FLAGS), argv)


if __name__ == "__main__":
    app.run(main)
