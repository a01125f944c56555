"""The tf.data stream of SwapGAN training pairs (thesis 8.2.1) and single-image representations.

An epoch is one pass over the pairs. Each epoch draws, from a numpy generator seeded by (seed,
epoch), a permutation of the pairs, for every position which image of the pair is the reference
(the thesis picks it at random) and, with ``flip``, whether to mirror the example. Everything
random is thus a function of (seed, position in the stream), so a run resumed at step s sees
exactly the batches of an uninterrupted run, and parallel decoding reorders or reseeds nothing.
Epochs follow each other without a gap; batches may straddle them (as in datasets/pipeline.py).

Conventions, S = image_size: images and pose maps float32 in [-1, 1] (S, S, 3); coarse
segmentation one-hot float32 (S, S, 6); mask and head map float32 {0, 1} (S, S, 1); optional
heatmaps float32 (S, S, 18). Every map is made in the 256 frame, then brought to S: images by
antialiased bicubic resizing, parsing maps by nearest-neighbour sampling of the same pixel centres,
keypoints by the same pixel-centre mapping before drawing, so maps stay aligned with the image.
The mirror (off by default: the thesis uses no augmentation) acts on the 256 frame as one draw for
the image, its parsing and its keypoints (x mirrored, left/right
joints swapped, then drawn), so left limbs keep the left limbs' colours.
"""
import numpy as np
import tensorflow as tf

from datasets.files import DataError
from datasets.persons import keypoints as kp
from datasets.persons import parsing as lip
from datasets.persons.deepfashion import ACCEPTED_SIZES, FRAME, frame_columns, read_parsing
from datasets.persons.pose import pose_heatmaps, render_pose_map
from datasets.pipeline import read_image, resize, to_unit_range

SALT = 7  # keeps these streams apart from datasets/pipeline.py's for the same seed


def steps_per_epoch(person_set, batch_size):
    """One epoch is one pass over the pairs."""
    return max(1, person_set.num_pairs // batch_size)


def pair_stream(num_pairs, seed, num_examples):
    """(pair index, reference-is-second, flip) for the first ``num_examples`` stream positions."""
    epochs = max(1, -(-num_examples // num_pairs))
    order, swap, flip = [], [], []
    for epoch in range(epochs):
        rng = np.random.default_rng([seed, epoch, SALT])
        order.append(rng.permutation(num_pairs))
        swap.append(rng.integers(0, 2, num_pairs).astype(bool))
        flip.append(rng.integers(0, 2, num_pairs).astype(bool))
    return tuple(np.concatenate(a)[:num_examples] for a in (order, swap, flip))


def _nearest(labels, size):
    """Nearest-neighbour sampling at the pixel centres of a size x size grid (TF's convention)."""
    idx = np.minimum(((np.arange(size) + 0.5) * (labels.shape[0] / size)).astype(np.int64),
                     labels.shape[0] - 1)
    return labels[np.ix_(idx, idx)]


def representation(keypoints, parsing, flip, image_size, heatmaps=False):
    """numpy maps {p, s, m, h[, heat]} of one person from (18, 2) keypoints in the 256 frame and
    an optional LIP map already in the 256 frame (unflipped); ``flip`` mirrors both."""
    keypoints = kp.flip(keypoints, FRAME) if flip else np.asarray(keypoints)
    points = kp.resize_frame(keypoints, FRAME, image_size)
    out = {"p": render_pose_map(points, image_size).astype(np.float32) / 127.5 - 1.0}
    if parsing is None:
        coarse = lip.coarse_from_keypoints(points, image_size)
    else:
        # The coarse classes merge left and right, so LIP's left/right labels need no swap.
        coarse = lip.coarse_from_lip(_nearest(parsing[:, ::-1] if flip else parsing, image_size))
    out.update(s=lip.one_hot(coarse), m=lip.person_mask(coarse), h=lip.head_mask(coarse))
    if heatmaps:
        out["heat"] = pose_heatmaps(points, image_size)
    return out


def _parsing_in_frame(path_or_array, width, where):
    labels = read_parsing(path_or_array) if isinstance(path_or_array, str) else np.asarray(path_or_array)
    if labels.shape != (FRAME, width):
        raise DataError(f"{where}: parsing map is {labels.shape}, expected ({FRAME}, {width})")
    return labels[:, frame_columns(width)]


def _image_in_frame(image, flip, image_size):
    """TF: uint8 image (256 x 256 or 256 x 176) -> [-1, 1] (S, S, 3), crop padded, maybe mirrored."""
    width = tf.shape(image)[1]
    cols = tf.clip_by_value(tf.range(FRAME) - (FRAME - width) // 2, 0, width - 1)
    cols = tf.where(flip, tf.reverse(cols, [0]), cols)
    image = tf.ensure_shape(tf.gather(image, cols, axis=1), [FRAME, FRAME, 3])
    return to_unit_range(resize(image, image_size))


def _map_spec(image_size, heatmaps):
    spec = {"p": 3, "s": lip.NUM_COARSE, "m": 1, "h": 1}
    if heatmaps:
        spec["heat"] = kp.NUM_JOINTS
    return {k: (image_size, image_size, c) for k, c in spec.items()}


def _side_maps(person_set, image_size, heatmaps):
    """A numpy function of (image index, flip) -> the map tuple in _map_spec order."""
    spec = _map_spec(image_size, heatmaps)

    def maps(index, flip):
        index, flip = int(index), bool(flip)
        parsing = None
        if person_set.parsing_paths is not None:
            path = person_set.parsing_paths[index]
            parsing = _parsing_in_frame(path, person_set.widths[index], path)
        out = representation(person_set.keypoints[index], parsing, flip, image_size, heatmaps)
        return tuple(out[k].astype(np.float32) for k in spec)

    return maps, spec


def pair_batches(person_set, *, seed, batch_size, image_size, start_step, total_steps, flip=False,
                 heatmaps=False):
    """Batches {x_r, x_c, p_r, p_c, s_r, s_c, m_r, m_c, h_r, h_c[, heat_r, heat_c]} for steps
    start_step..total_steps-1 (module docstring for the conventions)."""
    num = total_steps * batch_size
    first = start_step * batch_size
    order, swap, flips = pair_stream(person_set.num_pairs, seed, num)
    if not flip:
        flips = np.zeros_like(flips)
    pairs = tf.constant(person_set.pairs, tf.int32)
    paths = tf.constant(person_set.paths)
    maps, spec = _side_maps(person_set, image_size, heatmaps)

    def side(index, mirror, suffix):
        x = _image_in_frame(read_image(paths[index]), mirror, image_size)
        values = tf.numpy_function(maps, [index, mirror], [tf.float32] * len(spec), stateful=False)
        out = {"x" + suffix: x}
        for (key, shape), value in zip(spec.items(), values):
            out[key + suffix] = tf.ensure_shape(value, shape)
        return out

    def load(pair, second_is_reference, mirror):
        ref = tf.gather(pairs[pair], tf.cast(second_is_reference, tf.int32))
        cond = tf.gather(pairs[pair], 1 - tf.cast(second_is_reference, tf.int32))
        return {**side(ref, mirror, "_r"), **side(cond, mirror, "_c")}

    ds = tf.data.Dataset.from_tensor_slices((order[first:].astype(np.int32), swap[first:],
                                             flips[first:]))
    ds = ds.map(load, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return ds.batch(batch_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE)


def person_example(image, keypoints, parsing=None, *, image_size, heatmaps=False):
    """numpy {x, p, s, m, h[, heat]} (no batch axis) of one person for inference: ``image`` a path
    or uint8 RGB array (256 x 256, or the 256 x 176 crop), keypoints (18, 2) in the 256 frame,
    ``parsing`` an optional LIP map (path or array) of the image's size."""
    where = image if isinstance(image, str) else "image"
    pixels = read_image(image) if isinstance(image, str) else tf.convert_to_tensor(image, tf.uint8)
    if pixels.shape.rank != 3 or tuple(pixels.shape[:2]) not in ACCEPTED_SIZES:
        accepted = " or ".join(f"{h}x{w}" for h, w in ACCEPTED_SIZES)
        raise DataError(f"{where}: image of shape {tuple(pixels.shape)}; accepted: {accepted} "
                        "(HxW, RGB)")
    width = int(pixels.shape[1])
    labels = None
    if parsing is not None:
        labels = _parsing_in_frame(parsing, width, parsing if isinstance(parsing, str) else where)
    out = {"x": _image_in_frame(pixels, tf.constant(False), image_size).numpy()}
    out.update(representation(keypoints, labels, False, image_size, heatmaps))
    return out


def fixed_pairs(person_set, count, image_size, heatmaps=False):
    """One batch (numpy) of the first ``count`` pairs (fewer if the set has fewer), reference =
    first of the pair, no mirror: the fixed examples of sample grids."""
    maps, spec = _side_maps(person_set, image_size, heatmaps)
    batch = {}
    for suffix, column in (("_r", 0), ("_c", 1)):
        indices = person_set.pairs[:count, column]
        images = [_image_in_frame(read_image(person_set.paths[i]), tf.constant(False), image_size)
                  for i in indices]
        batch["x" + suffix] = tf.stack(images).numpy()
        values = [maps(i, False) for i in indices]
        for k, key in enumerate(spec):
            batch[key + suffix] = np.stack([v[k] for v in values])
    return batch
