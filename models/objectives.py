"""Objectives of thesis sections 8.1 (CycleGAN family) and 8.2 (SwapGAN), one function per equation
(pure functions of tensors).

Conventions, fixed here once:
* ``||x - y||_1`` is the mean absolute difference over batch, pixels and channels, as in the
  reference CycleGAN; a sum would only rescale lambda by the image size. The same holds for the
  mask-consistency loss of SwapGAN (8.17).
* E[.] over the data is the batch mean; for a PatchGAN the mean also runs over the logit map.
* LSGAN (Mao et al., a=0, b=c=1): D minimises (D(real)-1)^2 + D(fake)^2, which is (8.1) itself;
  G minimises (D(fake)-1)^2, the least-squares form of min_G in (8.1).
"""
from keras import ops


def l1(x, y):
    """Mean absolute error, the ``||.||_1`` of (8.2), (8.9), (8.11)."""
    return ops.mean(ops.abs(x - y))


def gan_real_term(real_logits):
    """First term of (8.1): E_b[(D_B(b) - 1)^2]."""
    return ops.mean(ops.square(real_logits - 1.0))


def gan_fake_term(fake_logits):
    """Second term of (8.1): E_a[D_B(G_AB(a))^2]."""
    return ops.mean(ops.square(fake_logits))


def gan_discriminator_loss(real_logits, fake_logits, halve=True):
    """L_GAN(G_AB, D_B), (8.1), as the discriminator minimises it.

    ``halve`` multiplies by 0.5 as the reference CycleGAN does ("slows down the rate at which D
    learns relative to G"); the thesis writes no factor. Adam is nearly invariant to a constant
    loss scale, so the two differ mainly through weight decay and epsilon.
    """
    loss = gan_real_term(real_logits) + gan_fake_term(fake_logits)
    return 0.5 * loss if halve else loss


def gan_generator_loss(fake_logits):
    """Generator side of (8.1) in least-squares form: E_a[(D_B(G_AB(a)) - 1)^2]."""
    return ops.mean(ops.square(fake_logits - 1.0))


def reconstruction_terms(a, a2b2a, b, b2a2b):
    """The two terms of L_Rec, (8.2): (||G_BA(G_AB(a)) - a||_1, ||G_AB(G_BA(b)) - b||_1).

    L_Rec is their sum. For Long CycleGAN (8.6) the arguments are the outputs of the whole
    chains, G_BA^N(...(G_AB^M(a))).
    """
    return l1(a2b2a, a), l1(b2a2b, b)


def cycle_objective(adv_ab, adv_ba, rec, lambda_cycle):
    """L_Cycle, (8.3): L_GAN(G_AB, D_B) + L_GAN(G_BA, D_A) + lambda L_Rec (generator side)."""
    return adv_ab + adv_ba + lambda_cycle * rec


def long_objective(adv_ab_last, adv_ba_last, rec_outer, lambda_cycle):
    """L_Long, (8.6): (8.3) with the adversarial terms on G_AB^M and G_BA^N and L_Rec over the
    whole chains. For M = N = 1 it is (8.3) exactly, the thesis's own remark."""
    return cycle_objective(adv_ab_last, adv_ba_last, rec_outer, lambda_cycle)


def inner_terms(a, a_hats, b, b_hats):
    """The two sums of L_Inner, (8.9): (sum_m ||a_hat_m - a||_1, sum_n ||b_hat_n - b||_1).

    ``a_hats[m-1]`` is a_hat_m of (8.8); the last one is the outer cycle (m = M), which the
    thesis includes in the sum. L_Inner is the sum of both returned terms.
    """
    loss_a = sum(l1(a_hat, a) for a_hat in a_hats)
    loss_b = sum(l1(b_hat, b) for b_hat in b_hats)
    return loss_a, loss_b


def nest_objective(adv_ab_last, adv_ba_last, inner, lambda_cycle):
    """L_Nest, (8.10): L_GAN(G_AB^M, D_B) + L_GAN(G_BA^N, D_A) + lambda L_Inner."""
    return adv_ab_last + adv_ba_last + lambda_cycle * inner


def similarity_loss(a2b_first, b2a_first):
    """L_Sim, (8.11): ||G_AB^1(a) - G_BA^1(b)||_1, pulling both first outputs towards a common
    intermediate domain H. The thesis adds it to (8.10) without a weight; we expose one
    (``lambda_sim``, default 1)."""
    return l1(a2b_first, b2a_first)


def identity_terms(a, b2a_of_a, b, a2b_of_b):
    """CycleGAN's identity loss (not in the thesis): (||G_BA(a) - a||_1, ||G_AB(b) - b||_1),
    with G the whole chain in each direction."""
    return l1(b2a_of_a, a), l1(a2b_of_b, b)


# SwapGAN, section 8.2. D scores an image pair concatenated on channels (models.swapgan): the
# logits passed here are D(first, second) for the pair the docstring names.

def pose_adversarial_loss(fake_i_logits):
    """L_GI, (8.14): E[(D(X_GI, X_c) - 1)^2], the least-squares loss of Generator I.

    The thesis first writes L_GI as a log-likelihood, (8.13), and replaces it by this LSGAN form
    itself ("we turn to use the least-square adversarial loss"); (8.13) is not implemented.
    """
    return ops.mean(ops.square(fake_i_logits - 1.0))


def segmentation_adversarial_loss(fake_ii_logits):
    """L_GII, (8.16): E[(D(X_r, X_GII) - 1)^2]; through X_GII = G_II(G_I(X_c, P_r), S_c) it trains
    G_II and G_I jointly."""
    return ops.mean(ops.square(fake_ii_logits - 1.0))


def mask_consistency_terms(m_gi, m_r, m_gii=None, m_c=None):
    """The two terms of L_GIII, (8.17): (||M_GIII(X_GI) - M_r||_1, ||M_GIII(X_GII) - M_c||_1).

    L_GIII is their sum. Without Generator II (the I&III ablation) there is no X_GII: pass only
    the first pair and the second term is None.
    """
    if (m_gii is None) != (m_c is None):
        raise ValueError("mask_consistency_terms needs both M_GIII(X_GII) and M_c, or neither")
    return l1(m_gi, m_r), (None if m_gii is None else l1(m_gii, m_c))


def swap_generator_objective(adv_i, adv_ii=None, mask=None, lambda_mask=5.0):
    """L_G, (8.18): L_GI + L_GII + lambda L_GIII (lambda = 5 in the thesis).

    An ablation of Table 8.3 lacks L_GII (I&III) or L_GIII (I&II): pass None for a missing term.
    """
    total = adv_i
    if adv_ii is not None:
        total = total + adv_ii
    if mask is not None:
        total = total + lambda_mask * mask
    return total


def swap_discriminator_loss(real_logits, fake_i_logits, fake_ii_logits=None):
    """L_D, (8.19): E[(D(X_r, X_c) - 1)^2] + E[D(X_GI, X_c)^2] + E[D(X_r, X_GII)^2].

    One real pair against two fake pairs, with no halving (the thesis writes none). Without
    Generator II the third term is absent (``fake_ii_logits`` None).
    """
    loss = gan_real_term(real_logits) + gan_fake_term(fake_i_logits)
    if fake_ii_logits is not None:
        loss = loss + gan_fake_term(fake_ii_logits)
    return loss
