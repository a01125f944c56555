"""The former name of ``python -m training.fcn`` (the FCN behind the FCN-score), kept so that older
command lines and run notes still work."""
from flags import bootstrap  # noqa: F401 (first: quiets TensorFlow's start-up logging)

# isort: split

from absl import app

from training.fcn import main

if __name__ == "__main__":
    app.run(main)
