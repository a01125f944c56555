"""The unpaired tf.data stream: two independently shuffled domains, augmented, batched.

Determinism and exact resumption: the order of every epoch is a numpy permutation seeded by
(seed, epoch, domain), and each example's crop and flip use a stateless seed derived from (seed,
domain, position in the stream). The stream from step s is therefore the same whether a run starts
there or resumes there, and parallel decoding cannot reorder or reseed anything.
"""
import dataclasses

import numpy as np
import tensorflow as tf

HALVES = ("full", "left", "right")


@dataclasses.dataclass(frozen=True)
class Domain:
    """The images of one domain: whole files, or the left/right half of side-by-side pairs."""

    paths: tuple
    half: str = "full"

    def __post_init__(self):
        if self.half not in HALVES:
            raise ValueError(f"half must be one of {HALVES}, got {self.half!r}")
        if not self.paths:
            raise ValueError("a Domain needs at least one image")

    def __len__(self):
        return len(self.paths)


def epoch_order(n, length, seed, epoch, salt):
    """Indices of one epoch of ``length`` examples from a domain of ``n``: fresh permutations of
    range(n), concatenated and cut to ``length`` (the smaller domain cycles, as in CycleGAN)."""
    rng = np.random.default_rng([seed, epoch, salt])
    reps = -(-length // n)
    return np.concatenate([rng.permutation(n) for _ in range(reps)])[:length]


def stream_indices(n_a, n_b, seed, num_examples):
    """(idx_a, idx_b) for the first ``num_examples`` examples; an epoch is max(n_a, n_b) long."""
    length = max(n_a, n_b)
    epochs = -(-num_examples // length)
    idx_a = np.concatenate([epoch_order(n_a, length, seed, e, 0) for e in range(epochs)])
    idx_b = np.concatenate([epoch_order(n_b, length, seed, e, 1) for e in range(epochs)])
    return idx_a[:num_examples].astype(np.int32), idx_b[:num_examples].astype(np.int32)


def read_image(path, half="full"):
    """uint8 RGB image, or the left/right half of a side-by-side pair."""
    image = tf.io.decode_image(tf.io.read_file(path), channels=3, expand_animations=False)
    if half == "full":
        return image
    width = tf.shape(image)[1] // 2
    return image[:, :width] if half == "left" else image[:, width:2 * width]


def to_unit_range(image_uint8_or_float):
    """[0, 255] -> [-1, 1], the generators' tanh range."""
    return tf.cast(image_uint8_or_float, tf.float32) / 127.5 - 1.0


def resize(image, size):
    """Bicubic resize with antialiasing (PIL's BICUBIC, used by the reference), clipped to [0, 255]."""
    image = tf.image.resize(tf.cast(image, tf.float32), [size, size], method="bicubic", antialias=True)
    return tf.clip_by_value(image, 0.0, 255.0)


def crop_and_flip(image, seed, *, image_size, flip):
    """Random crop to image_size, optional random flip, scale to [-1, 1]."""
    crop_seed, flip_seed = tf.unstack(tf.random.experimental.stateless_split(seed, 2))
    image = tf.image.stateless_random_crop(image, [image_size, image_size, 3], seed=crop_seed)
    if flip:
        image = tf.image.stateless_random_flip_left_right(image, seed=flip_seed)
    return to_unit_range(image)


def augment(image, seed, *, load_size, image_size, flip):
    """Resize to load_size, random crop to image_size, optional random flip, scale to [-1, 1]."""
    return crop_and_flip(resize(image, load_size), seed, image_size=image_size, flip=flip)


def decoded_cache(domain, load_size):
    """Every image of a domain decoded and resized once, as a [N, L, L, 3] float32 variable (the
    exact values the uncached pipeline computes, so caching changes speed, not results)."""
    ds = tf.data.Dataset.from_tensor_slices(list(domain.paths)).map(
        lambda p: resize(read_image(p, domain.half), load_size),
        num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    images = ds.batch(len(domain)).get_single_element()
    # A variable, not a constant: tf.data would copy a captured constant into its graph (2 GB cap).
    with tf.device("/cpu:0"):
        return tf.Variable(images, trainable=False, name="decoded_cache")


def cache_bytes(*domains, load_size):
    return sum(len(d) for d in domains) * load_size * load_size * 3 * 4


def unpaired_batches(domain_a, domain_b, *, seed, batch_size, image_size, load_size, flip,
                     start_step, total_steps, cache_decoded=False):
    """Batches {'a': [B,S,S,3], 'b': [B,S,S,3]} in [-1, 1] for steps start_step..total_steps-1.

    ``cache_decoded`` decodes and resizes each image once (``decoded_cache``); then a step only
    crops and flips.
    """
    num = total_steps * batch_size
    idx_a, idx_b = stream_indices(len(domain_a), len(domain_b), seed, num)
    first = start_step * batch_size
    if cache_decoded:
        cache_a, cache_b = decoded_cache(domain_a, load_size), decoded_cache(domain_b, load_size)
        fetch_a = lambda i: tf.gather(cache_a, i)  # noqa: E731
        fetch_b = lambda i: tf.gather(cache_b, i)  # noqa: E731
    else:
        paths_a, paths_b = tf.constant(domain_a.paths), tf.constant(domain_b.paths)
        fetch_a = lambda i: resize(read_image(paths_a[i], domain_a.half), load_size)  # noqa: E731
        fetch_b = lambda i: resize(read_image(paths_b[i], domain_b.half), load_size)  # noqa: E731

    def load(i_a, i_b, position):
        seed_a = tf.stack([tf.constant(2 * seed, tf.int64), position])
        seed_b = tf.stack([tf.constant(2 * seed + 1, tf.int64), position])
        kwargs = dict(image_size=image_size, flip=flip)
        return {"a": crop_and_flip(fetch_a(i_a), seed_a, **kwargs),
                "b": crop_and_flip(fetch_b(i_b), seed_b, **kwargs)}

    positions = np.arange(first, num, dtype=np.int64)
    ds = tf.data.Dataset.from_tensor_slices((idx_a[first:], idx_b[first:], positions))
    ds = ds.map(load, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return ds.batch(batch_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE)


def fixed_images(domain, count, image_size):
    """The first ``count`` images of a domain, resized to image_size, in [-1, 1] (sample grids)."""
    images = [resize(read_image(p, domain.half), image_size) for p in domain.paths[:count]]
    return to_unit_range(tf.stack(images)).numpy()
