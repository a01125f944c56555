"""Flags of ``python -m training.cycle``; defaults reproduce the thesis's facades experiment."""
from absl import flags as absl_flags

from flags.common import define_train_flags, train_values
from training.config import DATASETS, DEFAULT_DATA_DIRS, DIRECTIONS, VARIANTS, ConfigError, CycleConfig

_D = CycleConfig()


def define_cycle_flags(fv=absl_flags.FLAGS):
    define_train_flags(fv, workdir=_D.workdir, batch_size=_D.batch_size, epochs=_D.epochs)
    absl_flags.DEFINE_enum("variant", _D.variant, VARIANTS, "GAN baseline, Vanilla CycleGAN (8.3), "
                           "Long CycleGAN (8.6) or Nest CycleGAN (8.10 + 8.11).", flag_values=fv)
    absl_flags.DEFINE_integer("M", None, "Generators A->B (long/nest; default 2, gan/vanilla: 1).",
                              flag_values=fv)
    absl_flags.DEFINE_integer("N", None, "Generators B->A (default: --M).", flag_values=fv)
    absl_flags.DEFINE_boolean("share_weights", _D.share_weights, "One network per chain, applied M "
                              "(N) times: the thesis's proposed weight sharing.", flag_values=fv)
    absl_flags.DEFINE_enum("dataset", _D.dataset, DATASETS, "unpaired: trainA/ trainB/ testA/ testB/ "
                           "folders; pix2pix: side-by-side pairs in train/ val/ test/; synthetic: "
                           "built-in facade-like data generated on first use.", flag_values=fv)
    absl_flags.DEFINE_string("data_dir", None, "Dataset root (default: " + ", ".join(
        f"{k}: {v}" for k, v in DEFAULT_DATA_DIRS.items()) + ").", flag_values=fv)
    absl_flags.DEFINE_enum("direction", _D.direction, DIRECTIONS, "BtoA swaps the domains, so that "
                           "'a' is the dataset's B side.", flag_values=fv)
    absl_flags.DEFINE_boolean("skip_corrupt_images", _D.skip_corrupt_images, "Skip undecodable images "
                              "with a counted warning instead of stopping.", flag_values=fv)
    absl_flags.DEFINE_boolean("cache_decoded", _D.cache_decoded, "Decode and resize every training "
                              "image once and keep it in memory (the size is logged); steps then only "
                              "crop and flip. Same results, less CPU per step.", flag_values=fv)
    absl_flags.DEFINE_integer("image_size", _D.image_size, "Crop size (multiple of 4, >= 32).",
                              flag_values=fv)
    absl_flags.DEFINE_integer("load_size", None, "Resize before the random crop (default: "
                              "image_size * 286 / 256, i.e. 286 at 256).", flag_values=fv)
    absl_flags.DEFINE_boolean("flip", _D.flip, "Random horizontal flips.", flag_values=fv)
    absl_flags.DEFINE_integer("ngf", _D.ngf, "Generator width.", flag_values=fv)
    absl_flags.DEFINE_integer("ndf", _D.ndf, "Discriminator width.", flag_values=fv)
    absl_flags.DEFINE_integer("n_blocks", None, "Residual blocks per generator (default 9 at >= 256 "
                              "px, else 6).", flag_values=fv)
    absl_flags.DEFINE_float("lambda_cycle", _D.lambda_cycle, "lambda of (8.3), (8.6), (8.10).",
                            flag_values=fv)
    absl_flags.DEFINE_float("lambda_sim", _D.lambda_sim, "Weight of L_Sim (8.11), nest only.",
                            flag_values=fv)
    absl_flags.DEFINE_float("lambda_identity", _D.lambda_identity, "CycleGAN identity loss, in units "
                            "of lambda_cycle (CycleGAN uses 0.5; the thesis none).", flag_values=fv)
    absl_flags.DEFINE_boolean("halve_d_loss", _D.halve_d_loss, "Multiply the discriminator loss by "
                              "0.5, as the reference CycleGAN does.", flag_values=fv)
    absl_flags.DEFINE_integer("pool_size", _D.pool_size, "Image history pool per discriminator "
                              "(0: none).", flag_values=fv)


def cycle_config(fv=absl_flags.FLAGS):
    """The validated CycleConfig of the parsed flags (unset flags get the derived defaults)."""
    if fv["lambda_sim"].present and fv.variant != "nest":
        raise ConfigError(f"--lambda_sim is used by --variant=nest only, not --variant={fv.variant}")
    return CycleConfig(
        **train_values(fv), variant=fv.variant, M=fv.M, N=fv.N, share_weights=fv.share_weights,
        dataset=fv.dataset, data_dir=fv.data_dir, direction=fv.direction,
        skip_corrupt_images=fv.skip_corrupt_images, cache_decoded=fv.cache_decoded,
        image_size=fv.image_size, load_size=fv.load_size,
        flip=fv.flip, ngf=fv.ngf, ndf=fv.ndf, n_blocks=fv.n_blocks, lambda_cycle=fv.lambda_cycle,
        lambda_sim=fv.lambda_sim, lambda_identity=fv.lambda_identity, halve_d_loss=fv.halve_d_loss,
        pool_size=fv.pool_size)
