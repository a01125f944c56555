"""Train VITON's coarse stage on SwapGAN's pairs: the VITON row of Table 8.2.

    python -m training.viton --workdir=runs/viton                          # synthetic persons
    python -m training.viton --dataset=deepfashion --data_dir=data/deepfashion \\
        --vgg_weights=imagenet --workdir=runs/viton                        # with the perceptual term
"""
from flags import bootstrap  # noqa: F401 (first: quiets TensorFlow's start-up logging)

# isort: split

from absl import app
from absl import flags as absl_flags

from flags.common import run_trainer
from flags.viton import define_viton_flags, viton_config

define_viton_flags()


def main(argv):
    run_trainer(lambda: viton_config(absl_flags.FLAGS), argv)


if __name__ == "__main__":
    app.run(main)
