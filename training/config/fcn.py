"""The configuration of the FCN-8s behind the FCN-score (thesis 8.1.4, Table 8.1)."""
import dataclasses
import os

from training.config.base import TrainConfig, check_flag, resolve_default
from training.config.names import (
    FCN_DATA_DIRS,
    FCN_PREPROCESSING,
    FCN_STRIDE,
    FCN_UPSAMPLING,
    LABEL_SETS,
    SEGMENTATION_DATASETS,
)


@dataclasses.dataclass(frozen=True)
class FCNConfig(TrainConfig):
    """An FCN run: everything evaluation needs to rebuild the same network is recorded here.

    Fields left None get derived defaults: data_dir by label set and dataset, fc_width = 64 * width
    (4096 for VGG16), preprocessing "vgg" with backbone weights and "none" without.
    """

    workdir: str = "runs/fcn/facades"
    batch_size: int = 8
    epochs: int = 100
    learning_rate: float = 1e-4
    beta1: float = 0.9
    label_set: str = "facades"
    dataset: str = "unpaired"
    data_dir: str | None = None
    skip_corrupt_images: bool = False
    image_size: int = 256
    flip: bool = True
    width: int = 64
    fc_width: int | None = None
    upsampling: str = "learned"
    dropout: float = 0.5
    backbone_weights: str = "none"
    preprocessing: str | None = None

    def __post_init__(self):
        super().__post_init__()
        check_flag(self.label_set in LABEL_SETS, "label_set", self.label_set,
                   f"must be one of {', '.join(LABEL_SETS)}")
        check_flag(self.dataset in SEGMENTATION_DATASETS, "dataset", self.dataset,
                   f"must be one of {', '.join(SEGMENTATION_DATASETS)}")
        check_flag(self.dataset != "synthetic" or self.label_set == "facades", "dataset", self.dataset,
                   "the built-in data are facades (--label_set=facades)")
        resolve_default(self, "data_dir", FCN_DATA_DIRS.get((self.label_set, self.dataset), ""))
        check_flag(bool(self.data_dir), "data_dir", self.data_dir, "must not be empty")
        object.__setattr__(self, "data_dir", os.path.abspath(os.path.expanduser(self.data_dir)))
        resolve_default(self, "fc_width", 64 * self.width)
        pretrained = self.backbone_weights != "none"
        resolve_default(self, "preprocessing", "vgg" if pretrained else "none")
        if pretrained and self.backbone_weights != "imagenet":  # a file: absolute, like data_dir
            object.__setattr__(self, "backbone_weights",
                               os.path.abspath(os.path.expanduser(self.backbone_weights)))
        check_flag(self.image_size >= FCN_STRIDE and self.image_size % FCN_STRIDE == 0, "image_size",
                   self.image_size, f"must be a multiple of {FCN_STRIDE} (FCN-8s pools five times)")
        for name in ("width", "fc_width"):
            check_flag(getattr(self, name) >= 1, name, getattr(self, name), "must be >= 1")
        check_flag(self.upsampling in FCN_UPSAMPLING, "upsampling", self.upsampling,
                   f"must be one of {', '.join(FCN_UPSAMPLING)}")
        check_flag(self.preprocessing in FCN_PREPROCESSING, "preprocessing", self.preprocessing,
                   f"must be one of {', '.join(FCN_PREPROCESSING)}")
        check_flag(0 <= self.dropout < 1, "dropout", self.dropout, "must lie in [0, 1)")
        check_flag(bool(self.backbone_weights), "backbone_weights", self.backbone_weights,
                   "must be none, imagenet or the path of a weights file")
        if pretrained:
            check_flag(self.width == 64, "width", self.width,
                       f"--backbone_weights={self.backbone_weights} is VGG16, which has width 64")
            check_flag(self.preprocessing == "vgg", "preprocessing", self.preprocessing,
                       "ImageNet VGG16 weights need --preprocessing=vgg")
