"""Built-in person images for SwapGAN: front-view articulated people in the DeepFashion layout.

They exist so that every SwapGAN command runs on a fresh machine (DeepFashion is licence-bound).
An identity (body proportions, skin, hair, clothes) is drawn from ``[seed, identity]`` and each of
its poses from ``[seed, identity, pose]``, so any example renders alone and always the same. The LIP
label map is drawn first, limb by limb in depth order, with a body-local frame per part; the photo
colours it, putting clothes patterns in those frames (stripes bend with the arm and the torso) and
shading each part across its width, then adds noise and a slight blur. Keypoints are the rendered
skeleton in OpenPose COCO-18 order. Decisions the thesis leaves open:

- the person's left is the image's right (front view, OpenPose convention) for joints and labels;
- visible neck skin is Face (13): LIP has no neck or torso-skin class;
- a wrist behind the back and an ear turned away are missing (-1), an ear under hair in 15% of
  poses (pose estimators often guess those), which gives missing rates near DeepFashion's;
- the pairs files list every unordered pair of one identity's poses once, ``from`` = earlier pose.

``synthetic-params-{split}.csv`` stores each image's identity and pose, so any image, or a person
wearing another identity's clothes (``render_person(..., wearing=)``, the swap ground truth of
``synthetic_target``), renders again from the folder alone.
"""
import concurrent.futures
import functools
import itertools
import json
import os
import re
import shutil
import tempfile

from absl import logging
import cv2
import numpy as np

from datasets.files import DataError
from datasets.persons import keypoints as kp
from datasets.persons import synthetic_draw as draw

# LIP human-parsing ids (reference-facts.md, "LIP human parsing, 20 labels"), index = id.
LIP_LABELS = ("Background", "Hat", "Hair", "Glove", "Sunglasses", "Upper-clothes", "Dress", "Coat",
              "Socks", "Pants", "Jumpsuits", "Scarf", "Skirt", "Face", "Left-arm", "Right-arm",
              "Left-leg", "Right-leg", "Left-shoe", "Right-shoe")
# 2: synthetic-params-{split}.csv. Bump it whenever a change alters any rendered pixel: swap
# targets are rendered by the current code and must match the stored images.
LAYOUT_VERSION = 2
JPEG_PARAMS = (cv2.IMWRITE_JPEG_QUALITY, 95)
SPLITS = ("train", "test")
# The style entries that are clothes: colours, patterns and cut of the upper and lower garments.
# The rest (body, skin, hair, shoes, pose modes) is the wearer's. Cut lengths and widths are
# relative to the wearer's body, so a garment is always in the wearer's size.
GARMENT_KEYS = ("upper", "lower", "sleeves", "sleeve_len", "bottom", "skirt_len", "skirt_flare",
                "trouser_w", "hem", "tucked", "vneck")


def person_name(identity, pose):
    """Image file name of one pose of one identity; the identity is the part before the last '_'."""
    return f"syn_{identity:05d}_{pose + 1}front.jpg"


def params_file(root, split):
    """The CSV of a split's image names with their identity and pose."""
    return os.path.join(root, f"synthetic-params-{split}.csv")


def split_identities(split, n_train, n_test):
    """Identity indices of a split: test identities follow the training ones, so none overlap."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    return range(0, n_train) if split == "train" else range(n_train, n_train + n_test)


@functools.lru_cache(maxsize=4)
def _noise(n):
    return np.random.default_rng(12345).standard_normal((n, n)).astype(np.float32)


def _pt(xy):
    return tuple(int(v) for v in xy)


def _face(img, fig, hair):
    """Eyes, brows and mouth: photo only (LIP has no classes for them)."""
    p, hw, up, lr = fig["points"], fig["w"]["head_w"], fig["head_up"], fig["lr"]
    thick = max(1, int(round(hw * 0.08)))
    for name in ("l_eye", "r_eye"):
        cv2.circle(img, _pt(p[name]), max(1, int(round(hw * 0.1))), (40, 30, 30), -1)
        brow = p[name] + up * hw * 0.28
        cv2.line(img, _pt(brow - lr * hw * 0.15), _pt(brow + lr * hw * 0.15),
                 tuple(float(c) * 0.5 for c in hair), thick)
    mouth = p["nose"] - up * hw * 0.45
    cv2.line(img, _pt(mouth - lr * hw * 0.22), _pt(mouth + lr * hw * 0.22), (150, 60, 60), thick)


def _paint(r, style, fig, canvas, size):
    """The photo of a label map: base colours, clothes patterns in each part's frame, shading
    across each part, a floor shadow, light gradient, noise and blur. Whole-image operations and
    cv2.LUT, because per-pixel gathers dominate the time otherwise."""
    lab, part = canvas.lab, canvas.part
    shadow = np.zeros_like(lab)
    p, w = fig["points"], fig["w"]
    feet = (p["l_ankle"] + p["r_ankle"]) / 2 + np.array([0, w["leg_w"] * 0.9])
    axes = (int(abs(p["l_ankle"][0] - p["r_ankle"][0]) / 2 + w["head_w"] * 2), int(w["head_w"] * 0.5) + 1)
    cv2.ellipse(shadow, _pt(feet), axes, 0, 0, 360, len(LIP_LABELS), -1)
    code = np.where(lab > 0, lab, shadow)
    table = np.zeros((256, 1, 3), np.float32)
    table[draw.BACKGROUND] = np.clip(r.uniform(212, 248) * (1 + r.uniform(-0.04, 0.04, 3)), 0, 255)
    table[len(LIP_LABELS)] = table[draw.BACKGROUND] * 0.86
    table[draw.HAIR], table[[draw.SHOE[1], draw.SHOE[-1]]] = style["hair"], style["shoes"]
    table[[draw.FACE, draw.ARM[1], draw.ARM[-1], draw.LEG[1], draw.LEG[-1]]] = style["skin"]
    table[draw.UPPER], table[[draw.PANTS, draw.SKIRT]] = style["upper"]["c1"], style["lower"]["c1"]
    img = cv2.LUT(cv2.merge([code] * 3), table)
    yl, xl = (np.linspace(-0.5, 0.5, size, dtype=np.float32) for _ in range(2))
    shade = (1 + r.uniform(-0.08, 0.04) * yl[:, None]) * (1 + r.uniform(-0.06, 0.06) * xl[None, :])
    # Per-part work only inside the person's bounding box; part 0 (background) has a huge half
    # width there, so it is left unshaded.
    x0, y0, bw, bh = cv2.boundingRect(part)
    box = (slice(y0, y0 + bh), slice(x0, x0 + bw))
    frames = np.zeros((5, 256), np.float32)
    frames[:, :len(canvas.frames)] = np.array(canvas.frames, np.float32).T
    frames[4, 0] = 1e9
    ox, oy, dx, dy, half = (cv2.LUT(part[box], f) for f in frames)
    rx = np.arange(x0, x0 + bw, dtype=np.float32)[None, :] - ox
    ry = np.arange(y0, y0 + bh, dtype=np.float32)[:, None] - oy
    along, vn = rx * dx + ry * dy, np.clip((ry * dx - rx * dy) / half, -1.2, 1.2)
    body = 1 - 0.3 * vn ** 2 + 0.12 * fig["light"] * vn
    for g, labels in ((style["upper"], (draw.UPPER,)), (style["lower"], (draw.PANTS, draw.SKIRT))):
        mask = np.logical_or.reduce([lab[box] == v for v in labels])
        body *= 1 + 0.07 * mask * np.sin(along / half * 2.2 + vn * 1.5)  # folds
        if g["pattern"] == "solid":
            continue
        a, c = along + fig["curve"] * vn ** 2 * half, vn * half  # stripes curve round the body
        a, c = (a, c) if g["across"] else (c, a)
        period = g["period"] * fig["unit"]
        mix = (np.sin(2 * np.pi * a / period + g["phase"]) > 0.2).astype(np.float32)
        if g["pattern"] == "checks":
            mix = 0.5 * (mix + (np.sin(2 * np.pi * c / period + g["phase"]) > 0.2))
        img[box] += (mix * mask)[..., None] * (g["c2"] - g["c1"])
    shade[box] *= body
    _face(img, fig, style["hair"])
    n = max(512, 2 * size)
    o = r.integers(0, n - size, 2)
    img = img * shade[..., None] + _noise(n)[o[0]:o[0] + size, o[1]:o[1] + size, None] * r.uniform(2, 5)
    img = cv2.GaussianBlur(img, (3, 3), r.uniform(0.6, 1.0))
    return np.clip(img, 0, 255).astype(np.uint8)


def render_person(identity, pose, size=256, seed=0, wearing=None):
    """(image uint8 HxWx3 RGB, LIP ids uint8 HxW, keypoints int32 (18, 2) (y, x), -1 missing).

    ``wearing``: another identity whose garments (``GARMENT_KEYS``) the person wears instead of
    its own; body, pose, head, shoes, background, light and noise stay its own.
    """
    style = draw.person_style(identity, seed)
    if wearing is not None:
        clothes = draw.person_style(wearing, seed)
        style = {**style, **{k: clothes[k] for k in GARMENT_KEYS}}
    figure = draw.pose_figure(style, identity, pose, size, seed)
    canvas = draw.draw_labels(style, figure, size)
    rng = np.random.default_rng([seed, identity, 3, pose])
    image = _paint(rng, style, figure, canvas, size)
    lab = canvas.lab
    return image, lab, draw.keypoints(figure, lab)


def person_style(identity, seed=0):
    """The identity's body and clothes (a dict; e.g. ``["sleeves"]`` is "short" or "long")."""
    return draw.person_style(identity, seed)


def _write_one(job):
    folder, parsing, identity, pose, size, seed = job
    image, lip, keypoints = render_person(identity, pose, size, seed)
    name = person_name(identity, pose)
    path = os.path.join(folder, name)
    if not cv2.imwrite(path, cv2.cvtColor(image, cv2.COLOR_RGB2BGR), list(JPEG_PARAMS)):
        raise OSError(f"{path}: could not write image")
    label_path = os.path.join(parsing, os.path.splitext(name)[0] + ".png")
    if not cv2.imwrite(label_path, lip):
        raise OSError(f"{label_path}: could not write the parsing map")
    return name, keypoints


def _generate(tmp, n_train, n_test, poses, size, seed, workers):
    jobs, names = [], {}
    for split in SPLITS:
        folder, parsing = os.path.join(tmp, split), os.path.join(tmp, "parsing", split)
        os.makedirs(folder)
        os.makedirs(parsing)
        ids = split_identities(split, n_train, n_test)
        names[split] = [[person_name(i, p) for p in range(poses)] for i in ids]
        jobs += [(folder, parsing, i, p, size, seed) for i in ids for p in range(poses)]
    # cv2 drawing, numpy on whole arrays and the encoders release the GIL: threads scale.
    pool = concurrent.futures.ThreadPoolExecutor(workers or min(8, os.cpu_count() or 1))
    try:
        annotations = dict(pool.map(_write_one, jobs))
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    for split in SPLITS:
        kp.write_annotations(os.path.join(tmp, f"fasion-annotation-{split}.csv"),
                             {n: annotations[n] for group in names[split] for n in group})
        kp.write_pairs(os.path.join(tmp, f"fashion-pairs-{split}.csv"),
                       [pair for group in names[split] for pair in itertools.combinations(group, 2)])
        with open(params_file(tmp, split), "w", encoding="utf-8") as f:
            f.write("name,identity,pose\n")
            f.writelines(f"{person_name(i, p)},{i},{p}\n"
                         for i in split_identities(split, n_train, n_test) for p in range(poses))


def ensure_synthetic_persons(root, *, n_train=3000, n_test=686, poses_per_person=2, size=256,
                             seed=0, workers=None):
    """Writes the synthetic persons to ``root`` unless an identical set is already there.

    Layout (DeepFashion as pose-transfer work ships it, plus LIP parsing maps):
    ``train/``, ``test/`` JPEGs (quality 95); ``parsing/{train,test}/<stem>.png`` single-channel LIP
    ids; ``fasion-annotation-{train,test}.csv``; ``fashion-pairs-{train,test}.csv``;
    ``synthetic-params-{train,test}.csv`` (name, identity, pose); ``synthetic.json``. Defaults
    give the thesis's sizes: 3000 training pairs (6000 images) and 1372 test images. Built in a
    temporary folder and renamed, so an interrupted run leaves nothing.
    """
    if n_train < 1 or n_test < 1:
        raise ValueError(f"n_train and n_test must be >= 1, got {n_train} and {n_test}")
    if poses_per_person < 2:
        raise ValueError(f"poses_per_person must be >= 2 (pairs need two poses), got {poses_per_person}")
    if size < 32:
        raise ValueError(f"size must be >= 32 pixels, got {size}")
    spec = {"kind": "persons", "layout_version": LAYOUT_VERSION, "n_train": n_train, "n_test": n_test,
            "poses_per_person": poses_per_person, "size": size, "seed": seed}
    manifest = os.path.join(root, "synthetic.json")
    if os.path.exists(manifest):
        with open(manifest, encoding="utf-8") as f:
            if json.load(f) == spec:
                return root
    elif os.path.exists(root) and (not os.path.isdir(root) or os.listdir(root)):
        raise DataError(f"{root}: exists and is not a synthetic dataset; choose another --data_dir")
    parent = os.path.dirname(os.path.abspath(root))
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=".synthetic-persons-", dir=parent)
    try:
        _generate(tmp, n_train, n_test, poses_per_person, size, seed, workers)
        with open(os.path.join(tmp, "synthetic.json"), "w", encoding="utf-8") as f:
            json.dump(spec, f, indent=2)
        _swap_in(tmp, root)
    finally:
        if os.path.exists(tmp):
            shutil.rmtree(tmp)
    return root


_GENERATED = re.compile(r"(synthetic\.json|synthetic-params-\w+\.csv|fasion-annotation-\w+\.csv|"
                        r"fashion-pairs-\w+\.csv|"
                        r"(train|test|parsing/\w+)/syn_\d+_\d+\w*\.(jpg|png))")


def _foreign_files(root):
    """Files under an earlier synthetic set that its generator did not write (a user's)."""
    foreign = []
    for folder, _, files in os.walk(root):
        for name in files:
            relative = os.path.relpath(os.path.join(folder, name), root).replace(os.sep, "/")
            if not _GENERATED.fullmatch(relative):
                foreign.append(relative)
    return sorted(foreign)


def _swap_in(new, root):
    """Puts the freshly generated ``new`` at ``root``. An earlier set there (other settings or
    layout) is replaced only if it holds nothing but generated files; otherwise it is kept whole
    beside it, as ``<root>.previous-<n>``, and a warning names the first foreign file."""
    if not os.path.exists(root):
        os.replace(new, root)
        return
    foreign = _foreign_files(root)
    n = 1
    while os.path.exists(f"{root}.previous-{n}"):
        n += 1
    aside = f"{root}.previous-{n}"
    os.replace(root, aside)
    os.replace(new, root)
    if foreign:
        logging.warning("%s: regenerated with new settings; the earlier set holds files of yours "
                        "(%s%s), so it was kept whole at %s", root, foreign[0],
                        f" and {len(foreign) - 1} more" if len(foreign) > 1 else "", aside)
    else:
        shutil.rmtree(aside)
