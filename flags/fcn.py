"""Flags of ``python -m training.fcn``: the segmentation network of the FCN-score (Table 8.1)."""
from absl import flags as absl_flags

from flags.common import define_train_flags, train_values
from training.config import LABEL_SETS, SEGMENTATION_DATASETS, FCNConfig
from training.config.names import FCN_PREPROCESSING, FCN_UPSAMPLING

_D = FCNConfig()


def define_fcn_flags(fv=absl_flags.FLAGS):
    define_train_flags(fv, workdir=_D.workdir, batch_size=_D.batch_size, epochs=_D.epochs)
    for name in ("learning_rate", "beta1"):  # an FCN is no GAN: Adam's usual beta1, a smaller lr
        fv.set_default(name, getattr(_D, name))
    absl_flags.DEFINE_enum("label_set", _D.label_set, list(LABEL_SETS), "Classes and colours of "
                           "the label maps: the 12 CMP facade classes or the 19 Cityscapes train "
                           "ids.", flag_values=fv)
    absl_flags.DEFINE_enum("dataset", _D.dataset, SEGMENTATION_DATASETS, "unpaired: trainA/<name> "
                           "photos with trainB/<name> label maps (testA/ testB/); pix2pix: photo "
                           "left, label right in train/ (test/ or val/); synthetic: built-in "
                           "facades.", flag_values=fv)
    absl_flags.DEFINE_string("data_dir", None, "Dataset root (default: data/facades, "
                             "data/facades-pix2pix, data/cityscapes, ... by --label_set and "
                             "--dataset).", flag_values=fv)
    absl_flags.DEFINE_boolean("skip_corrupt_images", _D.skip_corrupt_images, "Skip undecodable "
                              "images (and their partners) with a counted warning instead of "
                              "stopping.", flag_values=fv)
    absl_flags.DEFINE_integer("image_size", _D.image_size, "Input size: whole images resized to "
                              "it, no crop (multiple of 32).", flag_values=fv)
    absl_flags.DEFINE_boolean("flip", _D.flip, "Random horizontal flips (photo and labels "
                              "together).", flag_values=fv)
    absl_flags.DEFINE_integer("width", _D.width, "Encoder width (64: VGG16).", flag_values=fv)
    absl_flags.DEFINE_integer("fc_width", None, "Channels of fc6/fc7 (default 64 * --width, 4096 "
                              "for VGG16).", flag_values=fv)
    absl_flags.DEFINE_enum("upsampling", _D.upsampling, FCN_UPSAMPLING, "learned: transposed convs "
                           "initialised bilinear (FCN); bilinear: fixed resizing.", flag_values=fv)
    absl_flags.DEFINE_float("dropout", _D.dropout, "Dropout after fc6 and fc7.", flag_values=fv)
    absl_flags.DEFINE_string("backbone_weights", _D.backbone_weights, "none: train from scratch; "
                             "imagenet: Keras's ImageNet VGG16 (downloaded once; needs --width=64); "
                             "or the path of that weights file.", flag_values=fv)
    absl_flags.DEFINE_enum("preprocessing", None, FCN_PREPROCESSING, "Input convention (default: vgg "
                           "with --backbone_weights, else none).", flag_values=fv)


def fcn_config(fv=absl_flags.FLAGS):
    """The validated FCNConfig of the parsed flags (unset flags get the derived defaults)."""
    return FCNConfig(
        **train_values(fv), label_set=fv.label_set, dataset=fv.dataset, data_dir=fv.data_dir,
        skip_corrupt_images=fv.skip_corrupt_images, image_size=fv.image_size, flip=fv.flip,
        width=fv.width, fc_width=fv.fc_width, upsampling=fv.upsampling, dropout=fv.dropout,
        backbone_weights=fv.backbone_weights, preprocessing=fv.preprocessing)
