"""SwapGAN of thesis 8.2: forward composition (8.12, 8.15, 8.17) and objectives (8.14-8.19).

Code <-> paper symbols (written once, used everywhere):

    batch["x_r"], batch["x_c"]   X_r, X_c   reference and condition images, 3 channels in [-1, 1]
    batch["p_r"]                 P_r        rendered OpenPose map of X_r, 3 channels (POSE_CHANNELS)
    batch["s_c"]                 S_c        one-hot segmentation of X_c: background + 5 coarse
                                            classes, 6 channels (SEGMENTATION_CHANNELS)
    batch["m_r"], batch["m_c"]   M_r, M_c   binary person masks, 1 channel in {0, 1}
    batch["h_r"]                 H_r        head map of X_r (pasted after inference, not used here)
    paths["x_gi"]                X_GI  = G_I(X_c, P_r)                         (8.12)
    paths["x_gii"]               X_GII = G_II(X_GI, S_c)                       (8.15)
    paths["m_gi"], ["m_gii"]     M_GIII(X_GI), M_GIII(X_GII)                   (8.17)
    nets.g_i, g_ii, g_iii, d     G_I, G_II, G_III, D

"G(A, B)" is G applied to A and B concatenated on channels, A first. D sees a pair the same way:
its first image is in the reference pose and its second in the condition pose, so the real pair is
(X_r, X_c) and the fakes are (X_GI, X_c) and (X_r, X_GII), in that order (8.14, 8.16, 8.19).

Generator sets (``--generators``): "I,II,III" is the full model; "I,III" and "I,II" are the
ablations of Table 8.3; "I" alone is the pose-only baseline (L_G = L_GI). Each computes exactly the
terms of its generators: without II there is no X_GII, hence no L_GII, no second mask term and no
third term of (8.19); without III there is no L_GIII.

L_GIII reaches G_I, G_II and G_III only: the masks never pass through D (8.17), and G_III gets no
gradient from anything else. ``swap_discriminator_losses`` stops the gradient at the fakes itself,
so D's loss cannot reach a generator whatever the caller's tape watches.
"""
import dataclasses
from typing import Optional

import keras
from keras import ops

from models import objectives as obj
from models.discriminator import patchgan_discriminator
from models.swap_generators import check_swap_image_size, mask_generator, swap_generator

GENERATOR_SETS = ("I,II,III", "I,III", "I,II", "I")
POSE_CHANNELS = 3
SEGMENTATION_CHANNELS = 6
IMAGE_CHANNELS = 3


def parse_generators(text):
    """``"I,II,III"`` -> frozenset({"I", "II", "III"}); any order and spacing, no repeats."""
    names = [part.strip() for part in str(text).split(",")]
    chosen = frozenset(names)
    allowed = {frozenset(s.split(",")): s for s in GENERATOR_SETS}
    if len(names) != len(chosen) or chosen not in allowed:
        raise ValueError(f"generators {text!r}: expected one of {', '.join(GENERATOR_SETS)}")
    return chosen


@dataclasses.dataclass(frozen=True)
class SwapNets:
    """The networks of one SwapGAN model; g_ii and g_iii are None in the ablations without them."""

    g_i: keras.Model
    g_ii: Optional[keras.Model]
    g_iii: Optional[keras.Model]
    d: keras.Model

    @property
    def generator_set(self):
        return frozenset(n for n, g in (("I", self.g_i), ("II", self.g_ii), ("III", self.g_iii))
                         if g is not None)

    def generators(self):
        return {name: net for name, net in (("g_i", self.g_i), ("g_ii", self.g_ii),
                                            ("g_iii", self.g_iii)) if net is not None}

    def discriminators(self):
        return {"d": self.d}

    def networks(self):
        return {**self.generators(), **self.discriminators()}

    @property
    def generator_variables(self):
        return [v for net in self.generators().values() for v in net.trainable_variables]

    @property
    def discriminator_variables(self):
        return list(self.d.trainable_variables)


def build_swap_nets(*, generators="I,II,III", image_size=128, ngf=64, ndf=64, n_blocks=6,
                    upsample_kernel=1, seed=0):
    """G_I, G_II, G_III (as ``generators`` asks) and D for image_size x image_size inputs.

    Each network gets its own deterministic initialisation seed derived from ``seed``, the same
    one whichever other generators are present.
    """
    chosen = parse_generators(generators)
    check_swap_image_size(image_size)
    common = dict(ngf=ngf, n_blocks=n_blocks, upsample_kernel=upsample_kernel,
                  out_channels=IMAGE_CHANNELS, image_size=image_size)
    g_i = swap_generator(IMAGE_CHANNELS + POSE_CHANNELS, seed=seed * 1000 + 1, name="g_i", **common)
    g_ii = g_iii = None
    if "II" in chosen:
        g_ii = swap_generator(IMAGE_CHANNELS + SEGMENTATION_CHANNELS, seed=seed * 1000 + 2,
                              name="g_ii", **common)
    if "III" in chosen:
        g_iii = mask_generator(image_size, ngf, in_channels=IMAGE_CHANNELS, seed=seed * 1000 + 3,
                               name="g_iii")
    d = patchgan_discriminator(ndf, 3, 2 * IMAGE_CHANNELS, seed=seed * 1000 + 201, name="d")
    return SwapNets(g_i=g_i, g_ii=g_ii, g_iii=g_iii, d=d)


def _pair(first, second):
    """Channel concatenation, first image first: the input of G_I, G_II and D."""
    return ops.concatenate([first, ops.cast(second, first.dtype)], axis=-1)


def _require(batch, keys, what):
    missing = [k for k in keys if k not in batch]
    if missing:
        raise KeyError(f"SwapGAN batch lacks {missing} needed by {what}; it has {sorted(batch)}")


def swap_paths(nets, batch, training=False):
    """Every image the objectives of ``nets``' generators need (keys in the module doc)."""
    _require(batch, ("x_c", "p_r"), "Generator I")
    paths = {"x_gi": nets.g_i(_pair(batch["x_c"], batch["p_r"]), training=training)}
    if nets.g_ii is not None:
        _require(batch, ("s_c",), "Generator II")
        paths["x_gii"] = nets.g_ii(_pair(paths["x_gi"], batch["s_c"]), training=training)
    if nets.g_iii is not None:
        paths["m_gi"] = nets.g_iii(paths["x_gi"], training=training)
        if nets.g_ii is not None:
            paths["m_gii"] = nets.g_iii(paths["x_gii"], training=training)
    return paths


def swap_generator_losses(nets, batch, *, lambda_mask=5.0, training=True):
    """L_G, (8.18), of the generators present: (terms, paths), terms['g/total'] the loss to minimise.

    terms: g/adv_i = L_GI (8.14); g/adv_ii = L_GII (8.16) with G_II; g/mask_r, g/mask_c (the latter
    only with G_II) and g/mask = L_GIII (8.17) with G_III.
    """
    _require(batch, ("x_r", "x_c"), "the adversarial losses")
    paths = swap_paths(nets, batch, training)
    x_r, x_c = batch["x_r"], batch["x_c"]
    adv_i = obj.pose_adversarial_loss(nets.d(_pair(paths["x_gi"], x_c), training=training))
    terms = {"g/adv_i": adv_i}
    adv_ii = mask = None
    if nets.g_ii is not None:
        adv_ii = obj.segmentation_adversarial_loss(nets.d(_pair(x_r, paths["x_gii"]), training=training))
        terms["g/adv_ii"] = adv_ii
    if nets.g_iii is not None:
        _require(batch, ("m_r",) + (("m_c",) if nets.g_ii is not None else ()), "Generator III")
        dtype = paths["m_gi"].dtype
        m_c = ops.cast(batch["m_c"], dtype) if "m_gii" in paths else None
        mask_r, mask_c = obj.mask_consistency_terms(
            paths["m_gi"], ops.cast(batch["m_r"], dtype), paths.get("m_gii"), m_c)
        terms["g/mask_r"] = mask = mask_r
        if mask_c is not None:
            terms["g/mask_c"] = mask_c
            mask = mask_r + mask_c
        terms["g/mask"] = mask
    terms["g/total"] = obj.swap_generator_objective(adv_i, adv_ii, mask, lambda_mask)
    return terms, paths


def swap_discriminator_losses(nets, batch, paths, training=True):
    """L_D, (8.19): terms d/real, d/fake_i, d/fake_ii (with G_II) and d/total.

    ``paths`` holds x_gi (and x_gii) from ``swap_paths`` or an image pool; their gradient is stopped
    here, so only D learns from this loss.
    """
    _require(batch, ("x_r", "x_c"), "the discriminator loss")
    x_r, x_c = batch["x_r"], batch["x_c"]
    real = nets.d(_pair(x_r, x_c), training=training)
    fake_i = nets.d(_pair(ops.stop_gradient(paths["x_gi"]), x_c), training=training)
    terms = {"d/real": obj.gan_real_term(real), "d/fake_i": obj.gan_fake_term(fake_i)}
    fake_ii = None
    if nets.g_ii is not None:
        fake_ii = nets.d(_pair(x_r, ops.stop_gradient(paths["x_gii"])), training=training)
        terms["d/fake_ii"] = obj.gan_fake_term(fake_ii)
    terms["d/total"] = obj.swap_discriminator_loss(real, fake_i, fake_ii)
    return terms


def swap_inference(nets, x_c, p_r):
    """The test-phase output X_GI = G_I(X_c, P_r) (8.12): the condition person's clothes in the
    reference pose. Pasting the head map H_r onto it is a later step, not a network."""
    return nets.g_i(_pair(x_c, p_r), training=False)


def paste_head(x_gi, x_r, h_r):
    """The test-phase post-processing of 8.2.1: the reference head (H_r = 1: face and hair) pasted
    onto X_GI, H_r * X_r + (1 - H_r) * X_GI. A hard paste, as the thesis describes it (no
    blending; 8.2.4 notes that it makes some images look a little unnatural)."""
    h_r = ops.cast(h_r, x_gi.dtype)
    return h_r * ops.cast(x_r, x_gi.dtype) + (1.0 - h_r) * x_gi
