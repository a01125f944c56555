"""Built-in facade-like data: exact CMP-palette label maps and photos rendered from them.

It exists so that every command runs on a fresh machine without downloads. Each index renders
deterministically: a building with floors and columns of windows (with sills, blinds, mouldings,
balconies), cornices between floors, pillars, a door or shop front on the ground floor and a few
decorations, in the 12 CMP classes; the photo paints each class with a per-building material,
lighting gradient, texture and noise, then blurs slightly like a camera would.
The written layout is the unpaired one (trainA photos, trainB labels, testA, testB), 400 / 206
images like the thesis's CMP split.
"""
import json
import os
import shutil
import tempfile

import cv2
import numpy as np

from datasets.files import DataError

# CMP facade classes 1..12 in the jet-order colours of ../shared/data/facades/README.md (RGB).
CMP_CLASSES = ("background", "facade", "window", "door", "cornice", "sill", "balcony", "blind",
               "deco", "molding", "pillar", "shop")
CMP_PALETTE = np.array([(0, 0, 170), (0, 0, 255), (0, 85, 255), (0, 170, 255), (0, 255, 255),
                        (85, 255, 170), (170, 255, 85), (255, 255, 0), (255, 170, 0), (255, 85, 0),
                        (255, 0, 0), (170, 0, 0)], dtype=np.uint8)
(BACKGROUND, FACADE, WINDOW, DOOR, CORNICE, SILL, BALCONY, BLIND, DECO, MOLDING, PILLAR,
 SHOP) = range(12)  # indices into CMP_PALETTE (class id - 1)

LAYOUT_VERSION = 1


def _rect(canvas, x0, y0, x1, y1, value):
    canvas[max(y0, 0):max(y1, 0), max(x0, 0):max(x1, 0)] = value


def render_label(rng, size):
    """HxW array of class indices (0..11) for one synthetic facade."""
    lab = np.full((size, size), BACKGROUND, np.uint8)
    top = int(size * rng.uniform(0.0, 0.15))
    left, right = int(size * rng.uniform(0, 0.08)), size - int(size * rng.uniform(0, 0.08))
    _rect(lab, left, top, right, size, FACADE)
    floors, cols = int(rng.integers(3, 7)), int(rng.integers(2, 7))
    ground = int(size * rng.uniform(0.14, 0.22))
    floor_h = (size - top - ground) / floors
    col_w = (right - left) / cols
    win_w, win_h = rng.uniform(0.4, 0.65) * col_w, rng.uniform(0.45, 0.7) * floor_h
    has_pillars, has_blinds = rng.random() < 0.4, rng.random() < 0.5
    for f in range(floors):
        y_floor = top + f * floor_h
        if rng.random() < 0.7:
            _rect(lab, left, int(y_floor), right, int(y_floor + max(2, 0.08 * floor_h)), CORNICE)
        balcony_floor = f > 0 and rng.random() < 0.3
        for c in range(cols):
            cx, cy = left + (c + 0.5) * col_w, y_floor + 0.55 * floor_h
            x0, x1 = int(cx - win_w / 2), int(cx + win_w / 2)
            y0, y1 = int(cy - win_h / 2), int(cy + win_h / 2)
            if rng.random() < 0.35:
                _rect(lab, x0 - 3, y0 - 3, x1 + 3, y1 + 3, MOLDING)
            _rect(lab, x0, y0, x1, y1, WINDOW)
            if has_blinds and rng.random() < 0.4:
                _rect(lab, x0, y0, x1, y0 + int((y1 - y0) * rng.uniform(0.2, 0.7)), BLIND)
            if balcony_floor:
                _rect(lab, x0 - 4, y1 - int(0.25 * win_h), x1 + 4, y1 + 3, BALCONY)
            else:
                _rect(lab, x0 - 2, y1, x1 + 2, y1 + max(2, int(0.06 * floor_h)), SILL)
            if rng.random() < 0.1:
                _rect(lab, int(cx - 3), int(y_floor + 3), int(cx + 3), int(y_floor + 9), DECO)
        if has_pillars:
            for c in range(cols + 1):
                x = int(left + c * col_w)
                _rect(lab, x - 2, int(y_floor), x + 2, int(y_floor + floor_h), PILLAR)
    y_ground = size - ground
    if rng.random() < 0.5:
        _rect(lab, left, y_ground + 3, right, size, SHOP)
    door_c = int(rng.integers(0, cols))
    dx = left + (door_c + 0.5) * col_w
    _rect(lab, int(dx - 0.3 * col_w), y_ground + ground // 6, int(dx + 0.3 * col_w), size, DOOR)
    return lab


def render_photo(rng, lab):
    """RGB uint8 photo of a label map: per-building materials, shading, texture, noise, blur."""
    size = lab.shape[0]
    plaster = rng.uniform(120, 230, 3) * np.array([1.0, rng.uniform(0.8, 1.0), rng.uniform(0.6, 0.95)])
    materials = np.array([
        rng.uniform([90, 130, 170], [150, 190, 235]),        # background: sky
        plaster,                                              # facade
        rng.uniform(20, 70, 3),                               # window glass
        rng.uniform([60, 35, 20], [120, 80, 50]),             # door: wood
        plaster * 1.1,                                        # cornice: lit from above
        plaster * 0.95,                                       # sill
        rng.uniform(30, 80, 3),                               # balcony: iron
        rng.uniform(90, 200, 3),                              # blind
        plaster * 0.7,                                        # deco
        plaster * 0.78,                                       # molding
        plaster * 1.15,                                       # pillar
        rng.uniform(30, 120, 3),                              # shop front
    ])
    photo = materials[lab].astype(np.float32)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    light = 1.0 + rng.uniform(-0.25, 0.25) * (xx - 0.5) + rng.uniform(-0.2, 0.1) * (yy - 0.5)
    photo *= light[..., None]
    glass = lab == WINDOW
    photo[glass] += (60 * (1 - yy[glass]) * rng.uniform(0.3, 1.0))[:, None]  # sky reflection
    bricks = (np.sin(yy * size * np.pi / rng.uniform(3, 6)) > 0.9) & (lab == FACADE)
    photo[bricks] *= 0.92
    photo += rng.normal(0, 6, photo.shape)
    photo = cv2.GaussianBlur(photo, (3, 3), 0.8)
    return np.clip(photo, 0, 255).astype(np.uint8)


def render_pair(index, size=300, seed=0):
    """(photo, label) as RGB uint8 arrays for one index; the same index always gives the same pair."""
    rng = np.random.default_rng([seed, index])
    lab = render_label(rng, size)
    return render_photo(rng, lab), CMP_PALETTE[lab]


def _write(path, rgb):
    params = [cv2.IMWRITE_JPEG_QUALITY, 95] if path.endswith(".jpg") else []
    if not cv2.imwrite(path, cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), params):
        raise OSError(f"{path}: could not write image")


def ensure_synthetic_facades(root, *, n_train=400, n_test=206, size=300, seed=0):
    """Writes the synthetic dataset to ``root`` unless an identical one is already there.

    Written to a temporary folder and renamed, so an interrupted generation leaves nothing half
    made. Returns ``root``.
    """
    spec = {"layout_version": LAYOUT_VERSION, "n_train": n_train, "n_test": n_test, "size": size,
            "seed": seed}
    manifest = os.path.join(root, "synthetic.json")
    if os.path.exists(manifest):
        with open(manifest, encoding="utf-8") as f:
            if json.load(f) == spec:
                return root
    if os.path.exists(root) and not os.path.exists(manifest) and os.listdir(root):
        raise DataError(f"{root}: exists and is not a synthetic dataset; choose another --data_dir")
    parent = os.path.dirname(os.path.abspath(root))
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=".synthetic-", dir=parent)
    try:
        for split, start, count in (("train", 0, n_train), ("test", n_train, n_test)):
            os.makedirs(os.path.join(tmp, split + "A"))
            os.makedirs(os.path.join(tmp, split + "B"))
            for i in range(start, start + count):
                photo, label = render_pair(i, size, seed)
                _write(os.path.join(tmp, split + "A", f"syn_{i:05d}.jpg"), photo)
                _write(os.path.join(tmp, split + "B", f"syn_{i:05d}.png"), label)
        with open(os.path.join(tmp, "synthetic.json"), "w", encoding="utf-8") as f:
            json.dump(spec, f, indent=2)
        if os.path.exists(root):
            shutil.rmtree(root)
        os.replace(tmp, root)
    finally:
        if os.path.exists(tmp):
            shutil.rmtree(tmp)
    return root
