"""Identities, poses and LIP label maps of the synthetic persons (synthetic.py paints and writes).

Lengths are in pixels of a 256 frame before the per-image fit. Angles are degrees from straight
down, positive away from the body's midline; side s is +1 for the person's left (image right).
"""
import colorsys

import cv2
import numpy as np

from datasets.persons import keypoints as kp

BACKGROUND, HAIR, UPPER, PANTS, SKIRT, FACE = 0, 2, 5, 9, 12, 13
ARM = {1: 14, -1: 15}   # Left-arm, Right-arm
LEG = {1: 16, -1: 17}   # Left-leg, Right-leg
SHOE = {1: 18, -1: 19}  # Left-shoe, Right-shoe
# The right arm walks this cycle with the pose index (neighbours differ, so consecutive poses of an
# identity always differ); the left arm draws with ARM_ODDS. A hand behind the back is rare.
ARM_CYCLE = ("down", "bent", "raised", "hip", "down", "raised", "bent", "hip", "behind", "bent")
ARM_MODES = ("down", "bent", "raised", "hip", "behind")
ARM_ODDS = (0.3, 0.22, 0.2, 0.22, 0.06)
LEG_MODES = ("together", "apart", "knee", "step")
HAIR_STYLES = ("short", "long", "bob", "bun", "buzz")
SKINS = ((255, 224, 196), (241, 194, 160), (224, 172, 130), (198, 134, 94), (160, 104, 68),
         (112, 72, 48))
HAIRS = ((22, 18, 16), (58, 38, 24), (110, 72, 40), (196, 160, 96), (150, 62, 30), (160, 160, 158))
SHIFT = 4  # cv2 fixed-point bits: sub-pixel geometry
_ONE = 1 << SHIFT


def _hsv(h, s, v):
    return np.array(colorsys.hsv_to_rgb(h % 1.0, s, v), np.float32) * 255


def _mean(g):
    return g["c1"] if g["pattern"] == "solid" else 0.55 * g["c1"] + 0.45 * g["c2"]


def _garment(r, solid, hue):
    c1 = _hsv(hue, r.uniform(0.25, 0.9), r.uniform(0.3, 0.95))
    c2 = _hsv(hue + r.choice([0.0, 0.5, 0.33]), r.uniform(0, 0.6), r.uniform(0.15, 1.0))
    if np.abs(c1 - c2).max() < 60:  # a pattern must be visible
        c2 = np.where(c1 > 127, c1 * 0.35, 255 - (255 - c1) * 0.3)
    pattern = r.choice(["solid", "stripes", "checks"],
                       p=[solid, (1 - solid) * 0.55, (1 - solid) * 0.45])
    return dict(c1=c1, c2=c2.astype(np.float32), pattern=str(pattern), period=r.uniform(5, 12),
                across=bool(r.random() < 0.7), phase=r.uniform(0, 2 * np.pi))


def person_style(identity, seed=0):
    """Body proportions, skin, hair and clothes of one identity (the same in all its poses)."""
    r = np.random.default_rng([seed, identity, 1])
    u = r.uniform
    body = dict(head_w=u(12, 14.5), head_h=u(1.18, 1.32), neck=u(3, 7), shoulder=u(21, 29),
                hip=u(11, 16), torso=u(60, 72), upper_arm=u(40, 47), forearm=u(35, 41), hand=u(4.5, 5.8),
                arm_w=u(5.2, 6.8), thigh=u(52, 61), shin=u(49, 57), leg_w=u(9.5, 12), waist=u(0.68, 0.86),
                scale=u(0.86, 1.0))
    body["head_h"] *= body["head_w"]
    hue = r.random()
    upper = _garment(r, 0.45, hue)
    for _ in range(20):  # upper and lower garments distinct in base colour and on average
        lower = _garment(r, 0.7, hue + u(0.25, 0.75))
        if (np.abs(upper["c1"] - lower["c1"]).max() >= 70
                and np.abs(_mean(upper) - _mean(lower)).max() >= 80):
            break
    else:  # plain dark or light trousers against the shirt's average
        grey = 30.0 if _mean(upper).max() > 140 else 225.0
        lower.update(pattern="solid", c1=np.full(3, grey, np.float32))
    return dict(
        body=body, upper=upper, lower=lower,
        skin=np.clip(np.array(SKINS[r.integers(len(SKINS))]) * u(0.93, 1.05), 0, 255),
        hair=np.array(HAIRS[r.integers(len(HAIRS))], np.float32) * u(0.85, 1.15),
        hair_style=HAIR_STYLES[r.integers(len(HAIR_STYLES))],
        shoes=_hsv(r.random(), u(0, 0.6), r.choice([u(0.08, 0.3), u(0.6, 0.95)])),
        sleeves="short" if r.random() < 0.5 else "long", sleeve_len=u(0.35, 0.75),
        bottom="skirt" if r.random() < 0.35 else ("shorts" if r.random() < 0.25 else "trousers"),
        hair_len=u(0.15, 0.6), skirt_len=u(0.45, 1.25), skirt_flare=u(1.1, 1.6),
        trouser_w=u(1.1, 1.45), hem=u(-0.05, 0.25),
        tucked=bool(r.random() < 0.4), vneck=bool(r.random() < 0.4),
        modes=(int(r.integers(len(ARM_CYCLE))), int(r.integers(len(LEG_MODES)))))


def _dir(angle, s):
    a = np.radians(angle)
    return np.array([s * np.sin(a), np.cos(a)])


def _rot(v, angle):
    c, s = np.cos(np.radians(angle)), np.sin(np.radians(angle))
    return np.array([c * v[0] - s * v[1], s * v[0] + c * v[1]])


def _arm(r, mode, s, b, sh, hip_joint, up, lean):
    """(elbow, wrist) of one arm in a given mode; bent forearms stop before the midline."""
    la, lf = b["upper_arm"], b["forearm"]
    if mode == "hip":  # two-link inverse kinematics, elbow out, hand on the waist
        target = hip_joint + s * np.array([b["leg_w"] * 0.9, 0]) + up * b["torso"] * 0.18
        d = np.clip(np.linalg.norm(target - sh), abs(la - lf) + 1, la + lf - 1)
        to = (target - sh) / np.linalg.norm(target - sh)
        alpha = np.degrees(np.arccos((la ** 2 + d ** 2 - lf ** 2) / (2 * la * d)))
        elbow = max((sh + la * _rot(to, g) for g in (alpha, -alpha)), key=lambda e: s * e[0])
        return elbow, elbow + lf * (sh + d * to - elbow) / np.linalg.norm(sh + d * to - elbow)
    a = {"down": (6, 22), "bent": (8, 28), "raised": (75, 155), "behind": (10, 22)}[mode]
    a = r.uniform(*a)
    bend = {"down": -r.uniform(0, 14), "bent": -r.uniform(55, 100), "raised": r.uniform(-10, 30),
            "behind": -r.uniform(70, 100)}[mode]
    elbow = sh + la * _dir(a, s)
    for _ in range(12):
        wrist = elbow + lf * _dir(min(a + bend, 185), s)
        midline = -wrist[1] * np.tan(np.radians(lean))
        if mode in ("behind", "raised") or s * (wrist[0] - midline) > b["hand"] * 1.4:
            break
        bend += 8
    return elbow, wrist


def _legs(r, mode, b):
    """{side: (thigh angle, shin angle, thigh length factor)} for a leg mode."""
    out = {s: (c, c + r.uniform(-2, 2), 1.0) for s in (1, -1) for c in [r.uniform(1, 4)]}
    bent = 1 if r.random() < 0.5 else -1
    if mode == "apart":
        out = {s: (c, c + r.uniform(-3, 3), 1.0) for s in (1, -1) for c in [r.uniform(7, 15)]}
    elif mode == "knee":
        c = r.uniform(10, 22)
        out[bent] = (c, c - r.uniform(25, 45), r.uniform(0.88, 0.95))
        out[-bent] = (out[-bent][0] + 4, out[-bent][1] + 4, 1.0)
    elif mode == "step":
        c = r.uniform(15, 26)
        out[bent] = (c, c + r.uniform(-2, 4), 1.0)
    return out


def pose_figure(style, identity, pose, size, seed):
    """Named points and widths in pixels of one pose, fitted into the size x size frame."""
    b, (m_r, m_leg) = style["body"], style["modes"]
    r = np.random.default_rng([seed, identity, 2, pose])
    arm_modes = {-1: ARM_CYCLE[(m_r + pose) % len(ARM_CYCLE)], 1: str(r.choice(ARM_MODES, p=ARM_ODDS))}
    lean, tilt, yaw = r.uniform(-5, 5), r.uniform(-8, 8), r.uniform(-0.7, 0.7)
    up, lr = np.array([np.sin(np.radians(lean)), -np.cos(np.radians(lean))]), _rot([1.0, 0.0], lean)
    p = {"neck": up * b["torso"]}
    head_up = _rot(up, tilt)
    p["head"] = p["neck"] + head_up * (b["neck"] + b["head_h"])
    h_lr, h_down = _rot(lr, tilt), -head_up
    p["nose"] = p["head"] + h_down * 0.32 * b["head_h"] + h_lr * yaw * 0.35 * b["head_w"]
    for s, side in ((1, "l"), (-1, "r")):
        p[side + "_eye"] = (p["head"] + h_lr * (s * 0.38 + yaw * 0.3) * b["head_w"]
                            + h_down * 0.02 * b["head_h"])
        p[side + "_ear"] = (p["head"] + h_lr * (s * 0.97 - yaw * 0.08) * b["head_w"]
                            + h_down * 0.05 * b["head_h"])
        p[side + "_shoulder"] = p["neck"] + s * lr * b["shoulder"] - up * r.uniform(0, 3)
        p[side + "_hip"] = s * lr * b["hip"]
    for s, side in ((1, "l"), (-1, "r")):
        p[side + "_elbow"], p[side + "_wrist"] = _arm(r, arm_modes[s], s, b, p[side + "_shoulder"],
                                                      p[side + "_hip"], up, lean)
    for s, (c, c2, f) in _legs(r, LEG_MODES[(m_leg + pose) % len(LEG_MODES)], b).items():
        side = "l" if s > 0 else "r"
        p[side + "_knee"] = p[side + "_hip"] + b["thigh"] * f * _dir(c, s)
        p[side + "_ankle"] = p[side + "_knee"] + b["shin"] * _dir(c2, s)
    # Fit: feet a little above the bottom edge, centred with a small shift; shrink if it overflows.
    ext = [(p["head"], b["head_h"] * 1.45)] + [(p[n], b["leg_w"] * 1.3) for n in ("l_ankle", "r_ankle")]
    ext += [(p[n], b["hand"] * 2.2) for n in ("l_wrist", "r_wrist", "l_elbow", "r_elbow")]
    lo = np.min([q - w for q, w in ext], 0)
    hi = np.max([q + w for q, w in ext], 0)
    unit, margin = size / 256, size * 0.02
    bottom = size * (1 - r.uniform(0.02, 0.06))
    k = min(b["scale"] * r.uniform(0.95, 1.03) * unit, (bottom - margin) / (hi[1] - lo[1]),
            (size - 2 * margin) / (hi[0] - lo[0]))
    half = k * (hi[0] - lo[0]) / 2
    cx = np.clip(size / 2 + r.uniform(-10, 10) * unit, margin + half, size - margin - half)
    t = np.array([cx - k * (lo[0] + hi[0]) / 2, bottom - k * hi[1]])
    return dict(points={n: q * k + t for n, q in p.items()}, w={n: v * k for n, v in b.items()},
                up=up, lr=lr, head_up=head_up, tilt=tilt, yaw=yaw, arm_modes=arm_modes, unit=k,
                order=(1, -1) if r.random() < 0.5 else (-1, 1), curve=r.uniform(-0.3, 0.3),
                light=r.uniform(-1, 1), lost_ears=r.random(2) < 0.15)


class Canvas:
    """The LIP label map and a part map, drawn together as the two channels of one image; each
    part has a body-local frame (origin, unit axis along the part, half width) for the painter."""

    def __init__(self, size):
        self.maps = np.zeros((size, size, 2), np.uint8)
        self.frames = [(0.0, 0.0, 1.0, 0.0, 1.0)]  # background

    @property
    def lab(self):
        return np.ascontiguousarray(self.maps[..., 0])

    @property
    def part(self):
        return np.ascontiguousarray(self.maps[..., 1])

    def frame(self, origin, axis, half_width):
        axis = np.asarray(axis, float) / max(np.linalg.norm(axis), 1e-6)
        if len(self.frames) == 255:
            raise ValueError("too many body parts for a uint8 part map")
        self.frames.append((origin[0], origin[1], axis[0], axis[1], max(half_width, 1.0)))
        return len(self.frames) - 1

    def poly(self, pts, label, part):
        pts = np.round(np.asarray(pts) * _ONE).astype(np.int32)[None]
        cv2.fillPoly(self.maps, pts, (label, part), cv2.LINE_8, SHIFT)

    def ellipse(self, c, axes, angle, label, part, start=0, end=360):
        c = tuple(int(round(v * _ONE)) for v in c)
        axes = tuple(int(round(max(v, 0.5) * _ONE)) for v in axes)
        cv2.ellipse(self.maps, c, axes, angle, start, end, (label, part), -1, cv2.LINE_8, SHIFT)

    def limb(self, p, q, w0, w1, label, part=None, caps=(True, True)):
        d = (q - p) / max(np.linalg.norm(q - p), 1e-6)
        n = np.array([-d[1], d[0]])
        part = self.frame(p, d, (w0 + w1) / 2) if part is None else part
        self.poly([p + n * w0, q + n * w1, q - n * w1, p - n * w0], label, part)
        for c, w, cap in ((p, w0, caps[0]), (q, w1, caps[1])):
            if cap:
                self.ellipse(c, (w, w), 0, label, part)
        return part


def _draw_arm(cv, style, fig, s):
    p, w = fig["points"], fig["w"]
    side = "l" if s > 0 else "r"
    sh, el, wr = p[side + "_shoulder"], p[side + "_elbow"], p[side + "_wrist"]
    ud, fd = (el - sh) / np.linalg.norm(el - sh), (wr - el) / np.linalg.norm(wr - el)
    aw = w["arm_w"]
    cv.limb(sh, el, aw, aw * 0.8, ARM[s])
    cv.limb(el, wr, aw * 0.78, aw * 0.58, ARM[s])
    cv.ellipse(wr + fd * w["hand"] * 0.7, (w["hand"], w["hand"]), 0, ARM[s], cv.frame(wr, fd, w["hand"]))
    if style["sleeves"] == "short":
        cv.limb(sh, sh + ud * w["upper_arm"] * style["sleeve_len"], aw * 1.2, aw * 1.35, UPPER,
                caps=(True, False))
    else:
        cv.limb(sh, el, aw * 1.18, aw * 1.1, UPPER)
        cv.limb(el, el + 0.9 * (wr - el), aw * 1.08, aw * 0.92, UPPER, caps=(True, False))


def _lower(cv, style, fig, what):
    """Trouser legs ("legs"), or the pelvis band / skirt ("top") of the lower garment."""
    p, w, up, lr = fig["points"], fig["w"], fig["up"], fig["lr"]
    lw, pelvis = w["leg_w"], (p["l_hip"] + p["r_hip"]) / 2
    waist = pelvis + up * w["torso"] * 0.13
    half = w["hip"] + lw
    frame = cv.frame(waist, -up, half)
    if style["bottom"] == "skirt":
        if what == "top":
            y = pelvis[1] + style["skirt_len"] * w["thigh"]
            xs = {}
            for s, side in ((1, "l"), (-1, "r")):
                line = np.array([p[side + "_hip"], p[side + "_knee"], p[side + "_ankle"]])
                xs[s] = np.interp(y, line[:, 1], line[:, 0]) + s * lw * 0.9
            left = max(pelvis[0] + half * style["skirt_flare"], xs[1])
            right = min(pelvis[0] - half * style["skirt_flare"], xs[-1])
            cv.poly([waist - lr * half, waist + lr * half, (left, y), (right, y)], SKIRT, frame)
        return
    if what == "top":
        cv.poly([waist - lr * half, waist + lr * half, p["l_hip"] + lr * lw * 1.1,
                 pelvis - up * lw * 0.5, p["r_hip"] - lr * lw * 1.1], PANTS, frame)
        return
    tw = style["trouser_w"]
    for s in fig["order"]:
        side = "l" if s > 0 else "r"
        hip, knee, ankle = p[side + "_hip"], p[side + "_knee"], p[side + "_ankle"]
        if style["bottom"] == "shorts":
            cv.limb(hip, hip + 0.45 * (knee - hip), lw * 1.2, lw * 1.1, PANTS, caps=(True, False))
            continue
        cv.limb(hip, knee, lw * 1.12, lw * 0.8 * tw, PANTS)
        shin = (ankle - knee) / np.linalg.norm(ankle - knee)
        cv.limb(knee, ankle - shin * lw * 0.45, lw * 0.78 * tw, lw * 0.52 * tw, PANTS, caps=(True, False))


def draw_labels(style, fig, size):
    """The LIP label map (and part frames) of one figure, drawn back to front."""
    cv = Canvas(size)
    p, w, up, lr = fig["points"], fig["w"], fig["up"], fig["lr"]
    head, h_down, h_lr, hs = p["head"], -fig["head_up"], _rot(lr, fig["tilt"]), style["hair_style"]
    hw, hh = w["head_w"], w["head_h"]
    hair = cv.frame(head, h_down, hw)
    if hs in ("long", "bob"):  # hair falling behind the neck and back
        length = hh * 0.95 if hs == "bob" else hh + w["neck"] + style["hair_len"] * w["torso"]
        spread = 1.22 if hs == "bob" else 1.4
        cv.poly([head - h_lr * hw * 1.1, head + h_lr * hw * 1.1, head + h_down * length + h_lr * hw * spread,
                 head + h_down * length - h_lr * hw * spread], HAIR, hair)
    for s in fig["order"]:
        if fig["arm_modes"][s] == "behind":
            _draw_arm(cv, style, fig, s)
    for s in fig["order"]:  # the leg drawn last is in front
        side = "l" if s > 0 else "r"
        cv.limb(p[side + "_hip"], p[side + "_knee"], w["leg_w"], w["leg_w"] * 0.72, LEG[s])
        cv.limb(p[side + "_knee"], p[side + "_ankle"], w["leg_w"] * 0.68, w["leg_w"] * 0.42, LEG[s])
        foot = p[side + "_ankle"] + np.array([s * 0.35, 0.45]) * w["leg_w"]
        cv.ellipse(foot, (w["leg_w"] * 0.78, w["leg_w"] * 0.5), s * 12, SHOE[s],
                   cv.frame(foot, (s, 0.3), w["leg_w"] * 0.5))
    _lower(cv, style, fig, "legs")
    if not style["tucked"]:
        _lower(cv, style, fig, "top")
    neck_w = hw * 0.42
    cv.limb(head, p["neck"], neck_w, neck_w, FACE)
    n, sh, down = p["neck"], w["shoulder"], -up
    aw, pelvis = w["arm_w"], (p["l_hip"] + p["r_hip"]) / 2
    torso = []
    for s in (1, -1):
        side = [n + lr * s * neck_w * 1.2 + up * aw * 0.25,
                p[("l" if s > 0 else "r") + "_shoulder"] + up * aw * 0.7,
                n + lr * s * (sh - aw * 0.4) + down * aw * 2.2,
                n + lr * s * sh * w["waist"] + down * w["torso"] * 0.62,
                pelvis + lr * s * (w["hip"] + w["leg_w"] * 1.05) + down * style["hem"] * w["thigh"]]
        torso += side if s > 0 else side[::-1]
    cv.poly(torso, UPPER, cv.frame(n, down, sh))
    if style["tucked"]:
        _lower(cv, style, fig, "top")
    neck = cv.frame(n, down, neck_w)
    if style["vneck"]:
        cv.poly([n - lr * neck_w * 1.15 + up, n + lr * neck_w * 1.15 + up, n + down * neck_w * 2.4], FACE,
                neck)
    else:
        cv.ellipse(n, (neck_w * 1.1, neck_w * 0.85), np.degrees(np.arctan2(lr[1], lr[0])), FACE, neck)
    for s in fig["order"]:
        if fig["arm_modes"][s] != "behind":
            _draw_arm(cv, style, fig, s)
    face = cv.frame(head, h_down, hw)
    for s, side in ((1, "l"), (-1, "r")):
        if s * fig["yaw"] < 0.6:  # the ear of the side the face turns to goes out of sight
            cv.ellipse(p[side + "_ear"], (hw * 0.17, hw * 0.3), fig["tilt"], FACE, face)
    cv.ellipse(head, (hw, hh), fig["tilt"], FACE, face)
    # Hair cap: (raise of its flat lower edge above the head centre, width, height) in head
    # units; the edge stays above the eyes.
    cap = {"short": (0.22, 1.1, 1.2), "buzz": (0.32, 1.03, 1.1), "bun": (0.24, 1.08, 1.18),
           "long": (0.22, 1.14, 1.2), "bob": (0.22, 1.14, 1.2)}[hs]
    cv.ellipse(head - h_down * cap[0] * hh, (hw * cap[1], hh * cap[2]), fig["tilt"], HAIR, hair, 180, 360)
    if hs == "bun":
        cv.ellipse(head - h_down * hh * 1.05, (hw * 0.5, hw * 0.5), 0, HAIR, hair)
    elif hs in ("long", "bob"):
        for s in (1, -1):
            top, bottom = head - h_down * cap[0] * hh, head + h_down * hh * (0.7 if hs == "bob" else 0.95)
            cv.poly([top + s * h_lr * hw * 0.78, top + s * h_lr * hw * 1.14, bottom + s * h_lr * hw * 1.2,
                     bottom + s * h_lr * hw * 0.86], HAIR, hair)
    return cv


def keypoints(fig, lab):
    """(18, 2) int32 (y, x) in JOINTS order; occluded ears and hidden wrists are missing."""
    size = lab.shape[0]
    out = np.full((kp.NUM_JOINTS, 2), kp.MISSING, np.int32)
    for j, name in enumerate(kp.JOINTS):
        x, y = np.round(fig["points"][name]).astype(int)
        s = 1 if name[0] == "l" else -1
        if not (0 <= x < size and 0 <= y < size):
            continue
        if name.endswith("_wrist") and fig["arm_modes"][s] == "behind":
            continue
        # An ear turned away is missing; one under hair only sometimes (pose estimators guess).
        under_hair = lab[y, x] == HAIR and fig["lost_ears"][int(s > 0)]
        if name.endswith("_ear") and (s * fig["yaw"] >= 0.6 or under_hair):
            continue
        out[j] = (y, x)
    return out
