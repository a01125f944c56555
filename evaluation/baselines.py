"""The two non-parametric baselines of Table 8.2 (thesis 8.2.3, "Compared methods").

Both take the condition person's clothes from its coarse segmentation S_c (upper- plus lower-body
clothes: "all the three compared methods require segmenting the target clothes from the condition
person images") and work per example at the batch's size S, on uint8 RGB.

``PoissonBlending`` (FashionGAN's baseline): the clothes region of X_c is cloned onto X_r with
``cv2.seamlessClone(..., NORMAL_CLONE)``, the gradient-domain Poisson blend. Placement: the centre of
the clothes' bounding box goes to the centre of the reference's clothes bounding box (its person
mask's when it shows no clothes), i.e. the garments are moved, never rescaled or bent: that is what
makes the method fail on other poses and body sizes, as 8.2.4 reports. A box that would stick out
is moved back inside the image. Both images are padded by ``MARGIN`` mirrored pixels first, so a
mask touching the image border still has the blending boundary OpenCV needs (it zeroes the mask's
outermost pixels). Only the cloned pixels are taken from OpenCV's uint8 result.
A condition without clothes pixels leaves the reference unchanged (counted: 'empty_clothes').

``TPSWarping`` (VITON's baseline): a thin-plate spline (``evaluation.tps``) fitted from the body
keypoints present in both persons (neck, shoulders, elbows, wrists, hips, knees, ankles) maps each
reference pixel to the condition image; X_c and its clothes mask are sampled through it (bilinear)
and the warped clothes pixels (mask > 0.5) replace the reference's. The reference's own clothes stay
where the warped ones do not reach: the method pastes, it does not inpaint. Regularisation lambda
0.1 in image-size units (chosen by eye on synthetic persons among 0, 1e-3, 1e-2, 0.1, 1: smaller
values fold the sleeves of crossing limbs, larger ones stop following the joints). Fewer than
three shared joints (or collinear ones) fall back to a similarity, translation or identity, counted
as 'tps_fallback_<kind>'.

Both paste the reference head last (see ``evaluation.methods``).
"""
import cv2
import numpy as np

from datasets.persons import keypoints as kp
from datasets.persons import parsing as lip
from evaluation.methods import SwapMethod, paste_head
from evaluation.tps import fit_warp, sampling_maps
from training.summaries import to_uint8

MARGIN = 4  # px of mirrored padding around both images before seamlessClone
BODY_JOINTS = (kp.NECK, kp.R_SHOULDER, kp.R_ELBOW, kp.R_WRIST, kp.L_SHOULDER, kp.L_ELBOW,
               kp.L_WRIST, kp.R_HIP, kp.R_KNEE, kp.R_ANKLE, kp.L_HIP, kp.L_KNEE, kp.L_ANKLE)
TPS_REGULARIZATION = 0.1


def clothes_region(segmentation):
    """Boolean (S, S) clothes mask (upper- or lower-body clothes) of a one-hot coarse map."""
    return (segmentation[..., lip.UPPER] + segmentation[..., lip.LOWER]) > 0.5


def _box(mask):
    """(y0, y1, x0, x1) inclusive bounding box of a non-empty boolean mask."""
    ys, xs = np.nonzero(mask)
    return ys.min(), ys.max(), xs.min(), xs.max()


def _centre(box):
    y0, y1, x0, x1 = box
    return (y0 + y1) / 2.0, (x0 + x1) / 2.0


def _shifted(mask, dy, dx):
    """``mask`` moved by (dy, dx) pixels, zero-filled (no wrap-around)."""
    out = np.zeros_like(mask)
    h, w = mask.shape
    out[max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = \
        mask[max(-dy, 0):h - max(dy, 0), max(-dx, 0):w - max(dx, 0)]
    return out


def poisson_clone(reference, condition, clothes, target_region, margin=MARGIN):
    """(uint8 (S, S, 3), bool (S, S)): ``reference`` with the ``clothes`` pixels of ``condition``
    Poisson-cloned onto it, centred on the bounding box of ``target_region`` (of ``clothes`` itself
    when that is empty), and where the clothes landed; None when ``clothes`` is empty."""
    if not clothes.any():
        return None
    size_y, size_x = reference.shape[:2]
    box = _box(clothes)
    cy, cx = _centre(_box(target_region) if target_region.any() else box)
    pad = [margin] * 4
    src = cv2.copyMakeBorder(condition, *pad, cv2.BORDER_REFLECT_101)
    dst = cv2.copyMakeBorder(reference, *pad, cv2.BORDER_REFLECT_101)
    mask = cv2.copyMakeBorder(clothes.astype(np.uint8) * 255, *pad, cv2.BORDER_CONSTANT, value=0)
    h, w = box[1] - box[0] + 1, box[3] - box[2] + 1
    # OpenCV places the mask's box at (px - w // 2, py - h // 2); keep it inside the unpadded image
    # (it fits: it came from an image of that size), so no garment is cut and the blend's boundary
    # has the padding around it.
    px = int(np.clip(round(cx) + margin, w // 2 + margin, size_x + margin - (w - w // 2)))
    py = int(np.clip(round(cy) + margin, h // 2 + margin, size_y + margin - (h - h // 2)))
    blended = cv2.seamlessClone(src, dst, mask, (px, py), cv2.NORMAL_CLONE)
    placed = _shifted(clothes, py - h // 2 - margin - box[0], px - w // 2 - margin - box[2])
    return blended[margin:margin + size_y, margin:margin + size_x], placed


def _to_unit(images):
    return np.asarray(images, np.float32) / 127.5 - 1.0


class PoissonBlending(SwapMethod):
    """FashionGAN's Poisson image blending baseline (module doc)."""

    name = "Poisson image blending"
    reference_keys = ("x", "s", "m", "h")
    condition_keys = ("x", "s")

    def _generate(self, reference, condition):
        ref, cond = to_uint8(reference["x"]), to_uint8(condition["x"])
        out = []
        for i in range(len(ref)):
            target = clothes_region(reference["s"][i])
            if not target.any():
                target = reference["m"][i, ..., 0] > 0.5
            result = np.array(reference["x"][i], np.float32)
            cloned = poisson_clone(ref[i], cond[i], clothes_region(condition["s"][i]), target)
            if cloned is None:
                self.counts["empty_clothes"] += 1
            else:  # only the cloned pixels: elsewhere the uint8 round trip would quantise X_r
                blended, placed = cloned
                result[placed] = _to_unit(blended[placed])
            out.append(result)
        return paste_head(np.stack(out), reference)


def shared_joints(reference_keypoints, condition_keypoints, joints=BODY_JOINTS):
    """(x, y) float arrays of the ``joints`` present in both (18, 2) (y, x) keypoint sets:
    (reference points, condition points)."""
    joints = list(joints)
    ref, cond = np.asarray(reference_keypoints)[joints], np.asarray(condition_keypoints)[joints]
    both = kp.present(ref) & kp.present(cond)
    return ref[both][:, ::-1].astype(np.float64), cond[both][:, ::-1].astype(np.float64)


def tps_warp_clothes(condition, clothes, reference_keypoints, condition_keypoints,
                     regularization=TPS_REGULARIZATION):
    """(warped image float32 (S, S, 3), warped clothes mask bool (S, S), warp kind): X_c and its
    clothes sampled at the TPS image of every reference pixel."""
    size = condition.shape[0]
    ref_points, cond_points = shared_joints(reference_keypoints, condition_keypoints)
    warp = fit_warp(ref_points, cond_points, regularization, scale=float(size))
    map_x, map_y = sampling_maps(warp, size, size)
    image = cv2.remap(np.asarray(condition, np.float32), map_x, map_y, cv2.INTER_LINEAR,
                      borderMode=cv2.BORDER_REPLICATE)
    mask = cv2.remap(clothes.astype(np.float32), map_x, map_y, cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    return image, mask > 0.5, warp.kind


class TPSWarping(SwapMethod):
    """VITON's TPS-warping baseline (module doc)."""

    name = "TPS warping"
    reference_keys = ("x", "h", "keypoints")
    condition_keys = ("x", "s", "keypoints")

    def __init__(self, regularization=TPS_REGULARIZATION):
        super().__init__()
        self.regularization = float(regularization)

    def _generate(self, reference, condition):
        out = np.array(reference["x"], np.float32)
        for i in range(len(out)):
            image, mask, kind = tps_warp_clothes(
                condition["x"][i], clothes_region(condition["s"][i]), reference["keypoints"][i],
                condition["keypoints"][i], self.regularization)
            if kind != "tps":
                self.counts[f"tps_fallback_{kind}"] += 1
            out[i][mask] = image[mask]
        return paste_head(out, reference)
