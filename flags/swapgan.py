"""Flags of ``python -m training.swapgan``; defaults are the thesis settings (8.2.3)."""
from absl import flags as absl_flags

from flags.common import define_person_data_flags, define_train_flags, person_data_values, train_values
from training.config import GENERATOR_SETS, ConfigError, SwapConfig

_D = SwapConfig()


def define_swapgan_flags(fv=absl_flags.FLAGS):
    define_train_flags(fv, workdir=_D.workdir, batch_size=_D.batch_size, epochs=_D.epochs,
                       weight_decay=_D.weight_decay)
    absl_flags.DEFINE_enum("generators", _D.generators, GENERATOR_SETS, "Generators trained: "
                           "I,II,III is the full SwapGAN; I,III and I,II the ablations of Table "
                           "8.3; I alone the pose-only baseline.", flag_values=fv)
    absl_flags.DEFINE_float("lambda_mask", _D.lambda_mask, "lambda of (8.18), the weight of the "
                            "mask-consistency loss L_GIII (needs Generator III).", flag_values=fv)
    define_person_data_flags(fv, _D, image_size_help="multiple of 8, >= 32")
    absl_flags.DEFINE_integer("ngf", _D.ngf, "Generator width.", flag_values=fv)
    absl_flags.DEFINE_integer("ndf", _D.ndf, "Discriminator width.", flag_values=fv)
    absl_flags.DEFINE_integer("n_blocks", _D.n_blocks, "Residual blocks of Generators I and II.",
                              flag_values=fv)
    absl_flags.DEFINE_integer("upsample_kernel", _D.upsample_kernel, "Kernel of the convolution "
                              "after each nearest-neighbour upsampling: 1 (thesis) or 3.",
                              flag_values=fv)


def swapgan_config(fv=absl_flags.FLAGS):
    """The validated SwapConfig of the parsed flags."""
    if fv["lambda_mask"].present and "III" not in fv.generators.split(","):
        raise ConfigError(f"--lambda_mask is used with Generator III only, not "
                          f"--generators={fv.generators}")
    return SwapConfig(
        **train_values(fv), **person_data_values(fv), generators=fv.generators,
        lambda_mask=fv.lambda_mask, ngf=fv.ngf, ndf=fv.ndf, n_blocks=fv.n_blocks,
        upsample_kernel=fv.upsample_kernel)
