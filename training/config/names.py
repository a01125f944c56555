"""The names a configuration may take: plain tuples, importable without TensorFlow.

The network builders keep their own dispatch tables; tests/test_config.py checks that these tuples
name exactly what the builders accept, so a flag can be refused before anything heavy is imported.
"""

# CycleGAN family (models.cycle)
VARIANTS = ("gan", "vanilla", "long", "nest")
DATASETS = ("synthetic", "unpaired", "pix2pix")
DIRECTIONS = ("AtoB", "BtoA")
DEFAULT_DATA_DIRS = {"unpaired": "data/facades", "pix2pix": "data/facades-pix2pix",
                     "synthetic": "data/synthetic-facades"}

# Shared by every trainer
WEIGHT_DECAY_MODES = ("decoupled", "l2")
PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")
DISTRIBUTE = ("none", "mirrored", "multi_worker")

# SwapGAN and VITON (models.swapgan, datasets.persons)
GENERATOR_SETS = ("I,II,III", "I,III", "I,II", "I")
# deepfashion-swap: a selection folder made by ``python -m datasets.prepare --name=deepfashion-swap``
# (datasets/persons/selection.py) over a DeepFashion folder.
PERSON_DATASETS = ("synthetic", "deepfashion", "deepfashion-swap")
PERSON_DATA_DIRS = {"synthetic": "data/synthetic-persons", "deepfashion": "data/deepfashion",
                    "deepfashion-swap": "data/deepfashion-swap"}

# FCN-score (models.fcn, datasets.labels, datasets.segmentation)
LABEL_SETS = ("facades", "cityscapes")
SEGMENTATION_DATASETS = ("unpaired", "pix2pix", "synthetic")
FCN_STRIDE = 32  # FCN-8s pools five times
FCN_UPSAMPLING = ("learned", "bilinear")
FCN_PREPROCESSING = ("none", "vgg")
FCN_DATA_DIRS = {("facades", "unpaired"): "data/facades",
                 ("facades", "pix2pix"): "data/facades-pix2pix",
                 ("facades", "synthetic"): "data/synthetic-facades",
                 ("cityscapes", "unpaired"): "data/cityscapes",
                 ("cityscapes", "pix2pix"): "data/cityscapes-pix2pix"}


def parse_generators(text):
    """``"I,II,III"`` -> frozenset({"I", "II", "III"}); any order and spacing, no repeats."""
    names = [part.strip() for part in str(text).split(",")]
    chosen = frozenset(names)
    allowed = {frozenset(s.split(",")): s for s in GENERATOR_SETS}
    if len(names) != len(chosen) or chosen not in allowed:
        raise ValueError(f"generators {text!r}: expected one of {', '.join(GENERATOR_SETS)}")
    return chosen
