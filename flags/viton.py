"""Flags of ``python -m training.viton``: VITON's coarse stage on SwapGAN's pairs (Table 8.2)."""
from absl import flags as absl_flags

from flags.common import define_person_data_flags, define_train_flags, person_data_values, train_values
from training.config import ConfigError, VitonConfig

_D = VitonConfig()


def define_viton_flags(fv=absl_flags.FLAGS):
    define_train_flags(fv, workdir=_D.workdir, batch_size=_D.batch_size, epochs=_D.epochs,
                       weight_decay=_D.weight_decay)
    define_person_data_flags(fv, _D, image_size_help=">= 32, a multiple of 2^n_layers")
    absl_flags.DEFINE_integer("ngf", _D.ngf, "Width of the U-Net's first layer.", flag_values=fv)
    absl_flags.DEFINE_integer("n_layers", _D.n_layers, "Stride-2 convs of the U-Net encoder "
                              "(VITON: 6).", flag_values=fv)
    absl_flags.DEFINE_float("dropout", _D.dropout, "Dropout after the innermost decoder layer "
                            "(VITON: 0.5; 0 for none).", flag_values=fv)
    absl_flags.DEFINE_integer("shape_side", _D.shape_side, "Side of the area-downsampled body "
                              "shape before it is blurred back up (VITON: 16 rows).", flag_values=fv)
    absl_flags.DEFINE_float("lambda_image", _D.lambda_image, "Weight of the L1 image term.",
                            flag_values=fv)
    absl_flags.DEFINE_float("lambda_mask", _D.lambda_mask, "Weight of the L1 clothes-mask term.",
                            flag_values=fv)
    absl_flags.DEFINE_float("lambda_perceptual", _D.lambda_perceptual, "Weight of the VGG19 "
                            "perceptual term (VITON: 3; needs --vgg_weights).", flag_values=fv)
    absl_flags.DEFINE_string("vgg_weights", _D.vgg_weights, "ImageNet VGG19 weights for the "
                             "perceptual term: 'imagenet' (Keras's download) or the path of "
                             "Keras's vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5; empty: "
                             "no perceptual term.", flag_values=fv)


def viton_config(fv=absl_flags.FLAGS):
    """The validated VitonConfig of the parsed flags."""
    if fv["lambda_perceptual"].present and not fv.vgg_weights:
        raise ConfigError("--lambda_perceptual needs --vgg_weights (the perceptual term is off "
                          "without VGG19 weights)")
    return VitonConfig(
        **train_values(fv), **person_data_values(fv), ngf=fv.ngf, n_layers=fv.n_layers,
        dropout=fv.dropout, shape_side=fv.shape_side,
        lambda_image=fv.lambda_image, lambda_mask=fv.lambda_mask,
        lambda_perceptual=fv.lambda_perceptual, vgg_weights=fv.vgg_weights)
