"""Train SwapGAN (thesis 8.2) or one of its ablations (Table 8.3).

    python -m training.swapgan                                          # synthetic persons, thesis settings
    python -m training.swapgan --dataset=deepfashion --data_dir=data/deepfashion
    python -m training.swapgan --generators=I,III --workdir=runs/swapgan/I_III
"""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app  # noqa: E402
from absl import flags as absl_flags  # noqa: E402

from flags.common import run_main  # noqa: E402
from flags.swapgan import define_swapgan_flags, swapgan_config  # noqa: E402
from training import swapgan_trainer  # noqa: E402

define_swapgan_flags()


def main(argv):
    run_main(lambda: swapgan_trainer.train(swapgan_config(absl_flags.FLAGS),
                                           extend=absl_flags.FLAGS.extend), argv)


if __name__ == "__main__":
    app.run(main)
