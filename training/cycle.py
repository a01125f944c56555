"""Train GAN / Vanilla / Long / Nest CycleGAN (thesis 8.1).

    python -m training.cycle --variant=long --M=2                      # thesis facades run
    python -m training.cycle --dataset=synthetic --image_size=64 ...   # offline
"""
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app  # noqa: E402
from absl import flags as absl_flags  # noqa: E402

from datasets.files import DataError  # noqa: E402
from flags.cycle import cycle_config, define_cycle_flags  # noqa: E402
from training import cycle_trainer  # noqa: E402
from training.config import ConfigError  # noqa: E402

define_cycle_flags()


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    try:
        config = cycle_config(absl_flags.FLAGS)
        cycle_trainer.train(config)
    except (ConfigError, DataError) as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        sys.exit(130)  # the loop has checkpointed and said so


if __name__ == "__main__":
    app.run(main)
