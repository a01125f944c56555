"""Train VITON's coarse stage on SwapGAN's pairs: the VITON row of Table 8.2.

    python -m training.viton --workdir=runs/viton                          # synthetic persons
    python -m training.viton --dataset=deepfashion --data_dir=data/deepfashion \\
        --vgg_weights=imagenet --workdir=runs/viton                        # with the perceptual term
"""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app  # noqa: E402
from absl import flags as absl_flags  # noqa: E402

from flags.common import run_main  # noqa: E402
from flags.viton import define_viton_flags, viton_config  # noqa: E402
from training import viton_trainer  # noqa: E402

define_viton_flags()


def main(argv):
    run_main(lambda: viton_trainer.train(viton_config(absl_flags.FLAGS),
                                         extend=absl_flags.FLAGS.extend), argv)


if __name__ == "__main__":
    app.run(main)
