"""Image-generation metrics as plain numpy / scipy maths: IS (8.20-8.21), FID, KID and SSIM.

The Inception network that feeds IS / FID / KID lives in evaluation/inception.py; everything here
takes its outputs (softmax probabilities, pool features) as arrays, so the maths is testable on
tables made by hand. Each function follows the implementation the field publishes numbers with:
IS the improved-GAN code (10 splits, p(y) the marginal of each split), FID pytorch-fid /
TTUR, KID Binkowski et al. (unbiased MMD^2, cubic polynomial kernel, 100 subsets of 1000), SSIM
the pose-transfer convention of reference-facts.md.
"""
import warnings

import numpy as np
import scipy.linalg
import scipy.special
from skimage.metrics import structural_similarity


def _matrix(name, a, min_rows=1):
    a = np.asarray(a, dtype=np.float64)
    if a.ndim != 2 or a.shape[0] < min_rows or not np.isfinite(a).all():
        raise ValueError(f"{name}: need a finite (N >= {min_rows}, D) array, got shape {a.shape}")
    return a


def inception_score(probs, splits=10):
    """(mean, std) over ``splits`` chunks of IS = exp(E_x[KL(p(y|x) || p(y))]), eqs. (8.20)-(8.21).

    ``probs``: (N, K) class probabilities p(y|x), one row per generated image. The rows are cut in
    order into ``splits`` chunks of N // splits or N // splits + 1 rows; in each chunk p(y) is the
    chunk's mean row. 0 * log 0 counts as 0 (``scipy.special.rel_entr``), so one-hot rows are fine.
    Uniform rows give 1; one-hot rows using K classes equally often give K.
    """
    p = _matrix("inception_score", probs)
    if splits < 1 or p.shape[0] < splits:
        raise ValueError(f"inception_score: {p.shape[0]} images cannot make {splits} splits")
    if (p < 0).any() or not np.allclose(p.sum(1), 1.0, atol=1e-3):
        raise ValueError("inception_score: every row must be a probability distribution "
                         "(non-negative, summing to 1): pass softmax outputs, not logits")
    n = p.shape[0]
    scores = []
    for i in range(splits):
        part = p[i * n // splits:(i + 1) * n // splits]
        marginal = part.mean(0, keepdims=True)
        kl = scipy.special.rel_entr(part, marginal).sum(1)  # (8.21), one value per image
        scores.append(np.exp(kl.mean()))  # (8.20)
    return float(np.mean(scores)), float(np.std(scores))


def frechet_distance(mu1, sigma1, mu2, sigma2, eps=1e-6):
    """||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2)), the Frechet distance of two Gaussians.

    As pytorch-fid: when the square root of S1 S2 is not finite (a singular product), ``eps`` is
    added to both diagonals and it is recomputed; its real part is used, and an imaginary part
    above 1e-3 on the diagonal is an error (the covariances are then not usable).
    """
    mu1, mu2 = np.atleast_1d(np.asarray(mu1, np.float64)), np.atleast_1d(np.asarray(mu2, np.float64))
    sigma1, sigma2 = np.atleast_2d(sigma1).astype(np.float64), np.atleast_2d(sigma2).astype(np.float64)
    d = mu1.shape[0]
    if mu2.shape != (d,) or sigma1.shape != (d, d) or sigma2.shape != (d, d):
        raise ValueError(f"frechet_distance: shapes {mu1.shape} {sigma1.shape} {mu2.shape} "
                         f"{sigma2.shape} do not describe two Gaussians of one dimension")
    diff = mu1 - mu2
    with warnings.catch_warnings():  # singular products are expected; the result is checked below
        warnings.simplefilter("ignore", scipy.linalg.LinAlgWarning)
        covmean = scipy.linalg.sqrtm(sigma1 @ sigma2)
        if not np.isfinite(covmean).all():
            offset = np.eye(d) * eps
            covmean = scipy.linalg.sqrtm((sigma1 + offset) @ (sigma2 + offset))
    if np.iscomplexobj(covmean):
        imaginary = np.abs(np.diagonal(covmean).imag).max()
        if imaginary > 1e-3:
            raise ValueError(f"frechet_distance: sqrt(S1 S2) has an imaginary part {imaginary:.3g}")
        covmean = covmean.real
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * np.trace(covmean))


def feature_statistics(features):
    """Mean and covariance (N - 1 in the denominator, like np.cov) of (N, D) features."""
    f = _matrix("feature_statistics", features, min_rows=2)
    return f.mean(0), np.cov(f, rowvar=False)


def _low_rank_frechet(small, other):
    """The Frechet distance when ``small`` has N <= D rows. With A and B the centred rows of
    ``other`` and ``small`` divided by sqrt(rows - 1), S1 = A^T A and S2 = B^T B has rank < D; the
    non-zero eigenvalues of S1 S2 are those of the N x N matrix (B A^T)(B A^T)^T, so
    Tr (S1 S2)^(1/2) is the sum of their square roots. Exact (no ``sqrtm`` of a singular
    product) and no D x D matrix is formed."""
    mu1, mu2 = other.mean(0), small.mean(0)
    a = (other - mu1) / np.sqrt(other.shape[0] - 1)
    b = (small - mu2) / np.sqrt(small.shape[0] - 1)
    cross = b @ a.T
    eigenvalues = np.linalg.eigvalsh(cross @ cross.T)
    diff = mu1 - mu2
    return float(diff @ diff + np.sum(a * a) + np.sum(b * b)
                 - 2.0 * np.sqrt(np.clip(eigenvalues, 0.0, None)).sum())


def fid(features1, features2):
    """Frechet Inception Distance of two (N, D) feature sets (Inception pool features, D = 2048).

    When a set has no more rows than features (e.g. 1,372 real test images against D = 2048) its
    covariance is singular; the distance is then computed exactly from the N x N eigenproblem of
    ``_low_rank_frechet`` (pytorch-fid's ``sqrtm`` of a singular product is slow and noisy there).
    """
    f1, f2 = _matrix("fid", features1, 2), _matrix("fid", features2, 2)
    if f1.shape[1] != f2.shape[1]:
        raise ValueError(f"fid: feature sizes differ ({f1.shape[1]} vs {f2.shape[1]})")
    if min(len(f1), len(f2)) <= f1.shape[1]:
        small, other = (f1, f2) if len(f1) <= len(f2) else (f2, f1)
        return _low_rank_frechet(small, other)
    return frechet_distance(*feature_statistics(f1), *feature_statistics(f2))


def _unbiased_mmd2(x, y):
    """Unbiased MMD^2 of equal-size samples with k(a, b) = (a.b / d + 1)^3 (Binkowski et al.)."""
    m, d = x.shape
    k_xx, k_yy, k_xy = ((a @ b.T / d + 1.0) ** 3 for a, b in ((x, x), (y, y), (x, y)))
    within = (k_xx.sum() - np.trace(k_xx) + k_yy.sum() - np.trace(k_yy)) / (m * (m - 1))
    return within - 2.0 * k_xy.sum() / (m * m)


def kid(features1, features2, subsets=100, subset_size=1000, seed=0):
    """(mean, std) of the Kernel Inception Distance over ``subsets`` random subsets.

    Each subset draws ``subset_size`` rows without replacement from each set (capped at the smaller
    set's size) and computes the unbiased MMD^2 with the cubic polynomial kernel
    k(x, y) = (x.y / d + 1)^3. Unbiased, so it can be slightly negative for equal distributions.
    """
    f1, f2 = _matrix("kid", features1, 2), _matrix("kid", features2, 2)
    if f1.shape[1] != f2.shape[1]:
        raise ValueError(f"kid: feature sizes differ ({f1.shape[1]} vs {f2.shape[1]})")
    if subsets < 1 or subset_size < 2:
        raise ValueError(f"kid: need subsets >= 1 and subset_size >= 2, got {subsets}, {subset_size}")
    m = min(subset_size, f1.shape[0], f2.shape[0])
    rng = np.random.default_rng(seed)
    values = [_unbiased_mmd2(f1[rng.choice(len(f1), m, replace=False)],
                             f2[rng.choice(len(f2), m, replace=False)]) for _ in range(subsets)]
    return float(np.mean(values)), float(np.std(values))


def ssim(image1, image2, data_range):
    """SSIM of two (H, W, 3) images, the pose-transfer convention.

    ``skimage.metrics.structural_similarity`` with a Gaussian window (sigma 1.5, so 11x11),
    population covariances and the explicit ``data_range`` (255 for uint8, 2 for [-1, 1]),
    averaged over the RGB channels. Both sides need at least 11 pixels.
    """
    a, b = np.asarray(image1), np.asarray(image2)
    if a.shape != b.shape or a.ndim != 3 or a.shape[-1] != 3:
        raise ValueError(f"ssim: need two (H, W, 3) images of one shape, got {a.shape}, {b.shape}")
    if min(a.shape[:2]) < 11:
        raise ValueError(f"ssim: images of {a.shape[:2]} are smaller than the 11x11 window")
    return float(structural_similarity(a, b, gaussian_weights=True, sigma=1.5,
                                       use_sample_covariance=False, data_range=data_range,
                                       channel_axis=-1))


def mean_ssim(images1, images2, data_range):
    """Mean SSIM over pairs of (N, H, W, 3) images (or two equal-length sequences of images)."""
    if len(images1) != len(images2) or len(images1) == 0:
        raise ValueError(f"mean_ssim: need two equal, non-empty image lists, got "
                         f"{len(images1)} and {len(images2)}")
    return float(np.mean([ssim(a, b, data_range) for a, b in zip(images1, images2)]))


# --- against a ground truth, inside a mask (synthetic swap targets; beyond the thesis) ----------

PSNR_CAP = 100.0  # dB: the PSNR of identical images (MSE 0) instead of inf, so means stay finite


def _masked(name, image1, image2, mask):
    a, b = np.asarray(image1, np.float64), np.asarray(image2, np.float64)
    m = np.asarray(mask).astype(bool)
    m = m[..., 0] if m.ndim == 3 else m
    if a.shape != b.shape or a.ndim != 3 or a.shape[-1] != 3 or m.shape != a.shape[:2]:
        raise ValueError(f"{name}: need two (H, W, 3) images and an (H, W[, 1]) mask, got "
                         f"{a.shape}, {b.shape}, {np.shape(mask)}")
    if not m.any():
        raise ValueError(f"{name}: the mask is empty")
    return a, b, m


def masked_ssim(image1, image2, mask, data_range):
    """The SSIM map of ``ssim`` (same window and constants; reflected at the image border),
    averaged over the mask's pixels and the RGB channels."""
    a, b, m = _masked("masked_ssim", image1, image2, mask)
    if min(a.shape[:2]) < 11:
        raise ValueError(f"masked_ssim: images of {a.shape[:2]} are smaller than the 11x11 window")
    _, full = structural_similarity(a, b, gaussian_weights=True, sigma=1.5,
                                    use_sample_covariance=False, data_range=data_range,
                                    channel_axis=-1, full=True)
    return float(full[m].mean())


def masked_psnr(image1, image2, mask, data_range, cap=PSNR_CAP):
    """10 log10(data_range^2 / MSE), the MSE over the mask's pixels and channels; at most
    ``cap`` (identical images give ``cap``, not inf)."""
    a, b, m = _masked("masked_psnr", image1, image2, mask)
    mse = np.mean((a[m] - b[m]) ** 2)
    return cap if mse == 0 else float(min(cap, 10.0 * np.log10(data_range ** 2 / mse)))


def masked_l1(image1, image2, mask, data_range):
    """Mean |image1 - image2| / data_range over the mask's pixels and channels (0..1)."""
    a, b, m = _masked("masked_l1", image1, image2, mask)
    return float(np.mean(np.abs(a[m] - b[m])) / data_range)


def masked_scores(image1, image2, mask, data_range):
    """{ssim, psnr, l1} of one image against its target inside ``mask``."""
    return {"ssim": masked_ssim(image1, image2, mask, data_range),
            "psnr": masked_psnr(image1, image2, mask, data_range),
            "l1": masked_l1(image1, image2, mask, data_range)}
