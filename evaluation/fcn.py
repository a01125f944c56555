"""Train the segmentation FCN of the FCN-score (thesis 8.1.4, Table 8.1) on real photos and labels.

    python -m evaluation.fcn --data_dir=data/facades --workdir=runs/fcn/facades
    python -m evaluation.fcn --label_set=cityscapes --dataset=pix2pix --data_dir=data/cityscapes-pix2pix \\
        --workdir=runs/fcn/cityscapes
    python -m evaluation.fcn --backbone_weights=imagenet ...     # VGG16 encoder (downloads once)

Same workdir contract as training (resume by rerunning, metrics.jsonl, TensorBoard, samples).
"""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app  # noqa: E402
from absl import flags as absl_flags  # noqa: E402

from evaluation import fcn_trainer  # noqa: E402
from flags.common import run_main  # noqa: E402
from flags.fcn import define_fcn_flags, fcn_config  # noqa: E402

define_fcn_flags()


def main(argv):
    run_main(lambda: fcn_trainer.train(fcn_config(absl_flags.FLAGS),
                                       extend=absl_flags.FLAGS.extend), argv)


if __name__ == "__main__":
    app.run(main)
