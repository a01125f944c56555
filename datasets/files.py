"""Finding and checking image files, with errors that name the path."""
import concurrent.futures
import hashlib
import os

from absl import logging
import tensorflow as tf

from datasets.errors import DataError  # noqa: F401 (re-exported: every reader raises it)

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp")


def list_images(folder):
    """Sorted image files directly inside ``folder``; an error if it is missing or has none."""
    if not os.path.exists(folder):
        raise DataError(f"{folder}: folder not found")
    if not os.path.isdir(folder):
        raise DataError(f"{folder}: not a folder")
    paths = sorted(os.path.join(folder, f) for f in os.listdir(folder)
                   if f.lower().endswith(IMAGE_EXTENSIONS) and not f.startswith("."))
    if not paths:
        raise DataError(f"{folder}: no images ({', '.join(IMAGE_EXTENSIONS)}) in this folder")
    return paths


def decode_file(path):
    """uint8 HxWx3 RGB with TensorFlow's decoders (the ones the pipeline uses)."""
    return tf.io.decode_image(tf.io.read_file(path), channels=3, expand_animations=False)


def _probe(path):
    try:
        return tuple(decode_file(path).shape), None
    except (tf.errors.OpError, ValueError) as e:
        return None, str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__


def scan_images(paths, *, skip_corrupt=False, check_shape=None, workers=8):
    """Decodes every file once so that a bad one fails here, by name, not deep in a train step.

    Undecodable files raise a DataError listing them, or with ``skip_corrupt`` are dropped with a
    counted warning. ``check_shape(path, shape)`` may return an error message for a decodable file
    with an unusable shape (always an error). Returns (kept paths, shapes).
    """
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        results = list(pool.map(_probe, paths))
    corrupt = [(p, why) for p, (shape, why) in zip(paths, results) if shape is None]
    for path, (shape, _) in zip(paths, results):
        message = check_shape(path, shape) if (check_shape and shape is not None) else None
        if message:
            raise DataError(f"{path}: {message}")
    if corrupt:
        listing = "; ".join(f"{p} ({why})" for p, why in corrupt[:5])
        more = f" and {len(corrupt) - 5} more" if len(corrupt) > 5 else ""
        if not skip_corrupt:
            raise DataError(f"{len(corrupt)} of {len(paths)} images cannot be decoded: {listing}{more}. "
                            "Replace or remove them, or pass --skip_corrupt_images to go on without them.")
        logging.warning("skipping %d of %d undecodable images: %s%s", len(corrupt), len(paths), listing, more)
    kept = [(p, s) for p, (s, _) in zip(paths, results) if s is not None]
    if not kept:
        raise DataError(f"none of the {len(paths)} images could be decoded (first: {paths[0]})")
    return [p for p, _ in kept], [s for _, s in kept]


def fingerprint(paths):
    """{'files': n, 'sha256': hex} over the names and sizes of ``paths``: cheap, and it changes
    when a file is added, removed, renamed or rewritten with another size."""
    digest = hashlib.sha256()
    for p in paths:
        digest.update(f"{os.path.basename(p)}\0{os.path.getsize(p)}\n".encode())
    return {"files": len(paths), "sha256": digest.hexdigest()[:16]}
