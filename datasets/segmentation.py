"""Photos paired with their ground-truth label maps: the FCN's training data and the FCN-score's
test data (thesis 8.1.4, Table 8.1).

Layouts (A is the photo and B the label map, as everywhere in this project):
- ``unpaired``: trainA/<stem>.* with trainB/<stem>.* (testA/ with testB/), paired by file stem;
- ``pix2pix``: train/ (test/, else val/), each file the photo on the left, the label on the right;
- ``synthetic``: the built-in facades, generated on first use, in the unpaired layout.

Label maps are RGB files. ``datasets.labels.colors_to_ids`` turns them into class ids at the file's
own resolution (nearest palette colour, so JPEG noise is harmless) and the ids are then resized with
nearest neighbour: label colours are never interpolated, which would invent colours between two
classes and therefore wrong ids along every boundary.

Photos are resized like the CycleGAN pipeline (bicubic, antialiased) to the square input size; there
is no crop, because the FCN-score segments whole resized test images and the FCN should see training
photos the way it will see test photos. Order and flips are those of ``datasets.pipeline``: each
epoch a numpy permutation seeded by (seed, epoch), each example's flip a stateless draw seeded by
(seed, position in the stream), one draw for the photo and its labels. The stream from step s is
therefore the same whether a run starts there or resumes there.
"""
import dataclasses
import os

import numpy as np
from PIL import Image
import tensorflow as tf

from datasets.files import DataError, fingerprint, list_images, scan_images
from datasets.labels import PALETTE_TOLERANCE, colors_to_ids, palette_share
from datasets.pipeline import epoch_order, read_image, resize, to_unit_range
from datasets.synthetic_facades import ensure_synthetic_facades

SEGMENTATION_DATASETS = ("unpaired", "pix2pix", "synthetic")
SPLITS = ("train", "test")


@dataclasses.dataclass(frozen=True)
class LabelledImages:
    """Photos and their label maps, index by index (``photo_half`` / ``label_half``: the part of
    each file that holds them, "full" or the left/right half of a side-by-side pair)."""

    photos: tuple
    labels: tuple
    photo_half: str = "full"
    label_half: str = "full"

    def __post_init__(self):
        if len(self.photos) != len(self.labels) or not self.photos:
            raise ValueError(f"LabelledImages needs as many photos as labels (>= 1), got "
                             f"{len(self.photos)} and {len(self.labels)}")

    def __len__(self):
        return len(self.photos)

    def fingerprint(self):
        """Names and sizes of the files (config.json and score provenance record it)."""
        if self.photos == self.labels:
            return {"pairs": {"halves": [self.photo_half, self.label_half], **fingerprint(self.photos)}}
        return {"photos": fingerprint(self.photos), "labels": fingerprint(self.labels)}

    def head(self, count):
        return dataclasses.replace(self, photos=self.photos[:count], labels=self.labels[:count])


def _stems(paths, folder):
    by_stem = {}
    for p in paths:
        stem = os.path.splitext(os.path.basename(p))[0]
        if stem in by_stem:
            raise DataError(f"{folder}: {os.path.basename(by_stem[stem])} and {os.path.basename(p)} "
                            "share a name; photos and labels are paired by file name without extension")
        by_stem[stem] = p
    return by_stem


def pair_by_stem(photo_dir, label_dir):
    """LabelledImages of photo_dir/<stem>.* and label_dir/<stem>.*; DataError naming any file
    without a partner."""
    photos = _stems(list_images(photo_dir), photo_dir)
    labels = _stems(list_images(label_dir), label_dir)
    for have, folder, other in ((photos, photo_dir, labels), (labels, label_dir, photos)):
        alone = sorted(s for s in have if s not in other)
        if alone:
            names = ", ".join(os.path.basename(have[s]) for s in alone[:5])
            more = f" and {len(alone) - 5} more" if len(alone) > 5 else ""
            raise DataError(f"{folder}: {names}{more} have no file of the same name in "
                            f"{label_dir if folder == photo_dir else photo_dir}; every photo needs "
                            "its label map")
    stems = sorted(photos)
    return LabelledImages(tuple(photos[s] for s in stems), tuple(labels[s] for s in stems))


def _even_width(path, shape):
    if shape[1] % 2:
        return (f"width {shape[1]} is odd; a pix2pix image holds the photo and its label side by "
                "side (photo left, label right)")
    return None


def has_test_split(dataset, data_dir):
    """Whether a dataset folder holds a test split (testA/ and testB/, or test/ or val/)."""
    if dataset == "pix2pix":
        return any(os.path.isdir(os.path.join(data_dir, n)) for n in ("test", "val"))
    return dataset == "synthetic" or all(os.path.isdir(os.path.join(data_dir, "test" + s))
                                         for s in "AB")


def check_label_colors(data, label_set, sample=8, minimum=0.5):
    """Refuses label maps that are mostly not ``label_set``'s colours (photos taken for labels,
    another label set), naming the worst of ``sample`` files spread over the set."""
    picks = sorted({int(i) for i in np.linspace(0, len(data) - 1, min(sample, len(data)))})
    shares = {}
    for i in picks:
        path = data.labels[i]
        with Image.open(path) as image:
            rgb = np.asarray(image.convert("RGB"))
        if data.label_half != "full":
            half = rgb.shape[1] // 2
            rgb = rgb[:, half:] if data.label_half == "right" else rgb[:, :half]
        shares[path] = palette_share(rgb[::2, ::2], label_set)
    if np.mean(list(shares.values())) < minimum:
        worst = min(shares, key=shares.get)
        side = f" ({data.label_half} half)" if data.label_half != "full" else ""
        raise DataError(f"{worst}{side}: only {shares[worst]:.0%} of its pixels are {label_set.name} "
                        f"label colours (within {PALETTE_TOLERANCE} of the palette; "
                        f"{np.mean(list(shares.values())):.0%} over {len(shares)} label maps of its "
                        f"folder): not label maps of --label_set={label_set.name}. Photos and "
                        "labels swapped, or another label set?")


def load_labelled_images(dataset, data_dir, split, *, skip_corrupt=False, label_set=None):
    """The photos and label maps of one split of a dataset; every file is decoded once here so
    that a bad one fails by name before anything starts. With ``label_set``, label maps that are
    mostly not its colours are refused (``check_label_colors``)."""
    data = _load_labelled_images(dataset, data_dir, split, skip_corrupt)
    if label_set is not None:
        check_label_colors(data, label_set)
    return data


def _load_labelled_images(dataset, data_dir, split, skip_corrupt):
    if dataset not in SEGMENTATION_DATASETS:
        raise DataError(f"--dataset={dataset}: must be one of {', '.join(SEGMENTATION_DATASETS)}")
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    if dataset == "synthetic":
        ensure_synthetic_facades(data_dir)
    elif not os.path.isdir(data_dir):
        raise DataError(f"{data_dir}: no dataset there (--dataset={dataset}); prepare one with "
                        f"python -m datasets.prepare --name=facades"
                        f"{' --layout=pix2pix' if dataset == 'pix2pix' else ''} --out={data_dir}")
    if dataset == "pix2pix":
        names = ("train",) if split == "train" else ("test", "val")
        folder = next((os.path.join(data_dir, n) for n in names
                       if os.path.isdir(os.path.join(data_dir, n))), os.path.join(data_dir, names[0]))
        paths, _ = scan_images(list_images(folder), skip_corrupt=skip_corrupt, check_shape=_even_width)
        return LabelledImages(tuple(paths), tuple(paths), "left", "right")
    pairs = pair_by_stem(os.path.join(data_dir, split + "A"), os.path.join(data_dir, split + "B"))
    photos = set(scan_images(list(pairs.photos), skip_corrupt=skip_corrupt)[0])
    labels = set(scan_images(list(pairs.labels), skip_corrupt=skip_corrupt)[0])
    keep = [i for i, (p, q) in enumerate(zip(pairs.photos, pairs.labels))
            if p in photos and q in labels]  # a skipped file takes its partner with it
    if not keep:
        raise DataError(f"{data_dir}: no {split} photo has a decodable label map")
    return LabelledImages(tuple(pairs.photos[i] for i in keep), tuple(pairs.labels[i] for i in keep))


def label_ids(path, half, label_set):
    """uint8 (H, W) class ids of a label map file (or half), by the nearest-colour rule."""
    rgb = read_image(path, half)
    ids = tf.numpy_function(lambda x: colors_to_ids(x, label_set), [rgb], tf.uint8, stateful=False)
    return tf.ensure_shape(ids, [None, None])


def resize_ids(ids, size):
    """Nearest-neighbour resize of (H, W) ids to (size, size): no id is ever invented."""
    return tf.image.resize(ids[..., None], [size, size], method="nearest")[..., 0]


def load_pair(photo_path, label_path, data, label_set, image_size):
    """(photo in [-1, 1], (S, S, 3); int32 ids, (S, S)) at ``image_size``."""
    photo = to_unit_range(resize(read_image(photo_path, data.photo_half), image_size))
    ids = resize_ids(label_ids(label_path, data.label_half, label_set), image_size)
    return photo, tf.cast(ids, tf.int32)


def steps_per_epoch(data, batch_size):
    return max(1, len(data) // batch_size)


def stream_order(n, seed, num_examples):
    """Indices of the first ``num_examples`` examples: one fresh permutation of range(n) per epoch."""
    epochs = -(-num_examples // n)
    return np.concatenate([epoch_order(n, n, seed, e, 0) for e in range(epochs)])[:num_examples]


def segmentation_batches(data, label_set, *, seed, batch_size, image_size, flip, start_step,
                         total_steps):
    """{'photo': (B, S, S, 3) in [-1, 1], 'labels': (B, S, S) int32} for steps
    start_step..total_steps-1 (batches may straddle epochs)."""
    num = total_steps * batch_size
    order = stream_order(len(data), seed, num).astype(np.int32)
    first = start_step * batch_size
    photos, labels = tf.constant(data.photos), tf.constant(data.labels)

    def load(i, position):
        photo, ids = load_pair(photos[i], labels[i], data, label_set, image_size)
        if flip:  # one draw flips both, so that every label stays on its pixel
            draw = tf.random.stateless_uniform([], tf.stack([tf.constant(seed, tf.int64), position]))
            photo, ids = tf.cond(draw < 0.5, lambda: (photo[:, ::-1], ids[:, ::-1]),
                                 lambda: (photo, ids))
        return {"photo": photo, "labels": ids}

    positions = np.arange(first, num, dtype=np.int64)
    ds = tf.data.Dataset.from_tensor_slices((order[first:], positions))
    ds = ds.map(load, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return ds.batch(batch_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE)


def evaluation_batches(data, label_set, *, batch_size, ids_size, photo_size=None,
                       label_image_size=None):
    """Every example once, in order: {'ids': (B, ids_size, ids_size) int32} plus, when asked for,
    'photo' (the real photo at photo_size) and 'label_image' (the label map's RGB in [-1, 1] at
    label_image_size, resized like CycleGAN training inputs: what a label->photo generator reads).
    The last batch may be smaller."""
    photos, labels = tf.constant(data.photos), tf.constant(data.labels)

    def load(i):
        out = {"ids": tf.cast(resize_ids(label_ids(labels[i], data.label_half, label_set),
                                         ids_size), tf.int32)}
        if photo_size:
            out["photo"] = to_unit_range(resize(read_image(photos[i], data.photo_half), photo_size))
        if label_image_size:
            out["label_image"] = to_unit_range(resize(read_image(labels[i], data.label_half),
                                                      label_image_size))
        return out

    ds = tf.data.Dataset.range(len(data)).map(load, num_parallel_calls=tf.data.AUTOTUNE,
                                              deterministic=True)
    return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def fixed_pairs(data, count, label_set, image_size):
    """The first ``count`` examples as numpy (photos in [-1, 1], int32 ids): the sample grids."""
    pairs = [load_pair(p, q, data, label_set, image_size)
             for p, q in zip(data.photos[:count], data.labels[:count])]
    return np.stack([p.numpy() for p, _ in pairs]), np.stack([q.numpy() for _, q in pairs])
