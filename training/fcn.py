"""Train the segmentation FCN of the FCN-score (thesis 8.1.4, Table 8.1) on real photos and labels.

    python -m training.fcn --data_dir=data/facades --workdir=runs/fcn/facades
    python -m training.fcn --label_set=cityscapes --dataset=pix2pix --data_dir=data/cityscapes-pix2pix \\
        --workdir=runs/fcn/cityscapes
    python -m training.fcn --backbone_weights=imagenet ...     # VGG16 encoder (downloads once)

Same workdir contract as training (resume by rerunning, metrics.jsonl, TensorBoard, samples).
"""
from flags import bootstrap  # noqa: F401 (first: quiets TensorFlow's start-up logging)

# isort: split

from absl import app
from absl import flags as absl_flags

from flags.common import run_trainer
from flags.fcn import define_fcn_flags, fcn_config

define_fcn_flags()


def main(argv):
    run_trainer(lambda: fcn_config(absl_flags.FLAGS), argv)


if __name__ == "__main__":
    app.run(main)
