"""Pre-trained weight files for the evaluation networks, with errors that say how to provide them.

Keras downloads ImageNet weights on first use into ~/.keras/models. On a machine without internet
that fails with a bare traceback; here it fails with one line naming the flag that takes a local
file, the URL to fetch it from elsewhere and the file name Keras expects (copying the file into
~/.keras/models under that name also works). The file names and hashes are Keras's own, so a copy
that Keras already cached is reused.
"""
import dataclasses
import os

import keras

WEIGHT_EXTENSIONS = (".weights.h5", ".h5", ".hdf5", ".keras")
_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
_ZIP_MAGIC = b"PK\x03\x04"


class WeightsError(ValueError):
    """Weights that cannot be fetched or loaded; the message names the file or the flag."""


@dataclasses.dataclass(frozen=True)
class KerasWeights:
    """One weights file of keras.applications: where Keras fetches it and under which name."""

    description: str
    fname: str
    origin: str
    file_hash: str


_BASE = "https://storage.googleapis.com/tensorflow/keras-applications/"
INCEPTION_V3_IMAGENET = KerasWeights(
    "ImageNet InceptionV3", "inception_v3_weights_tf_dim_ordering_tf_kernels.h5",
    _BASE + "inception_v3/inception_v3_weights_tf_dim_ordering_tf_kernels.h5",
    "9a0d58056eeedaa3f26cb7ebd46da564")
VGG16_IMAGENET_NOTOP = KerasWeights(
    "ImageNet VGG16 (no top)", "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5",
    _BASE + "vgg16/vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5",
    "6d6bbae143d832006294945121d1f1fc")


def fetch(spec, flag):
    """Local path of ``spec`` (Keras's cache, downloading it if needed); WeightsError offline."""
    try:
        return keras.utils.get_file(spec.fname, spec.origin, cache_subdir="models",
                                    file_hash=spec.file_hash)
    except Exception as e:  # get_file raises a bare Exception on network failures
        reason = " ".join(str(e).split()) or type(e).__name__
        raise WeightsError(
            f"cannot fetch the {spec.description} weights ({reason}); download {spec.origin} "
            f"({spec.fname}) on a machine with internet and pass --{flag}=PATH "
            f"(or copy it into ~/.keras/models/)") from e


def check_weights_file(path, flag):
    """WeightsError naming the path unless it is an existing HDF5 (.h5) or zip (.keras) file of a
    Keras extension; cheap, so callers run it before building a large network."""
    path = os.fspath(path)
    where = f"--{flag}={path}"
    if not os.path.isfile(path):
        raise WeightsError(f"{where}: file not found")
    if not path.endswith(WEIGHT_EXTENSIONS):
        raise WeightsError(f"{where}: expected a Keras weights or model file "
                           f"({', '.join(WEIGHT_EXTENSIONS)})")
    magic = _HDF5_MAGIC if not path.endswith(".keras") else _ZIP_MAGIC
    with open(path, "rb") as f:
        if f.read(len(magic)) != magic:
            kind = "a zip archive (.keras)" if magic == _ZIP_MAGIC else "an HDF5 file"
            raise WeightsError(f"{where}: not {kind}; the file is corrupt or of another kind")
    return path


def load_weights_file(model, path, flag):
    """``model.load_weights(path)`` for .weights.h5 / .h5 / .keras files; WeightsError naming the
    path (and the flag) when the file is missing, of another kind, corrupt or of another network."""
    path = check_weights_file(path, flag)
    try:
        model.load_weights(path)
    except Exception as e:  # h5py / zipfile / Keras raise many kinds for a bad file
        reason = " ".join(str(e).split())[:300] or type(e).__name__
        raise WeightsError(f"--{flag}={path}: cannot load it into {model.name} "
                           f"({type(e).__name__}: {reason})") from e
    return model


def resolve(weights, spec, flag):
    """A local file for ``weights``: "imagenet" fetches ``spec``; anything else is a path."""
    if weights == "imagenet":
        return fetch(spec, flag)
    if not weights:
        raise WeightsError(f"--{flag}: empty; pass 'imagenet' or the path of a weights file")
    return os.fspath(weights)
