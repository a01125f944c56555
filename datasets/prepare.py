"""Download, verify and lay out the real datasets (needs internet once; checksums always).

    python -m datasets.prepare --name=facades --out=data/facades            # thesis split 400/206
    python -m datasets.prepare --name=facades --layout=pix2pix --out=data/facades-pix2pix
    python -m datasets.prepare --name=cityscapes --archive=~/Downloads/cityscapes.tar.gz
    python -m datasets.prepare --name=deepfashion-swap --data_dir=data/deepfashion \\
        --out=data/deepfashion-swap      # the thesis's selection (8.2.3), from the keypoint CSVs

``--archive`` uses a file you already have; it is verified like a download. Nothing is written to
--out unless the checksum matches and the whole conversion succeeded (it is built in a temporary
folder and renamed). A failed check keeps the file and says what was expected.
"""
from flags import bootstrap  # noqa: F401 (first: quiets TensorFlow's start-up logging)

# isort: split
import dataclasses
import hashlib
import json
import os
import shutil
import sys
import tarfile
import tempfile
import urllib.error
import urllib.request
import zipfile

import cv2

from datasets.files import DataError, list_images


@dataclasses.dataclass(frozen=True)
class Archive:
    url: str
    algorithm: str            # hashlib name
    digest: str
    kind: str                 # "pix2pix": side-by-side pairs, photo left; "cyclegan": trainA/...
    test_splits: tuple = ("test",)
    size: int = 0             # bytes; 0 = not published
    source: str = ""


ARCHIVES = {
    # CMP facades as pix2pix distributes them: 400 train, 100 val, 106 test; val + test is the
    # thesis's 206-image test set. MD5 as listed by TheProjectsGuy/MLHub (no official checksum is
    # published; if a download disagrees, check it and pass --checksum=md5:<hex>).
    "facades": Archive("http://efrosgans.eecs.berkeley.edu/pix2pix/datasets/facades.tar.gz", "md5",
                       "e2e25dd517e9d15828416ab329da2854", "pix2pix", ("val", "test"),
                       source="TheProjectsGuy/MLHub src/mlhub/pix2pix/data.py"),
    # Cityscapes as pix2pix distributes it: 2975 train, 500 val (the thesis's test set).
    "cityscapes": Archive("http://efrosgans.eecs.berkeley.edu/pix2pix/datasets/cityscapes.tar.gz",
                          "md5", "32569df708076e427e9cd02abbca7748", "pix2pix", ("val",),
                          source="TheProjectsGuy/MLHub src/mlhub/pix2pix/data.py"),
    # CycleGAN's own zips (A = photo, B = label); SHA-256 and sizes from tensorflow/datasets.
    "facades_cyclegan": Archive("https://efrosgans.eecs.berkeley.edu/cyclegan/datasets/facades.zip",
                                "sha256", "9a31ebf3a31b9b5cd195dd5bf62e9308e00cb94604d1019e3889ac84248695c0",
                                "cyclegan", size=35135868,
                                source="tensorflow/datasets url_checksums/cycle_gan.txt"),
    "cityscapes_cyclegan": Archive("https://efrosgans.eecs.berkeley.edu/cyclegan/datasets/cityscapes.zip",
                                   "sha256", "d2f6910fd056c1ee9873777ae838e7ac4a2c833598ae62a04188e5ab2f4ea036",
                                   "cyclegan", size=279601602,
                                   source="tensorflow/datasets url_checksums/cycle_gan.txt"),
}


def file_digest(filename, algorithm):
    h = hashlib.new(algorithm)
    with open(filename, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def parse_checksum(checksum):
    """'algo:hex' -> (algo, hex), checked before any download; errors name the flag."""
    if ":" not in checksum:
        raise DataError(f"--checksum={checksum}: expected ALGORITHM:HEX, e.g. md5:e2e25dd5...")
    algorithm, digest = (part.strip().lower() for part in checksum.split(":", 1))
    if algorithm not in hashlib.algorithms_available:
        raise DataError(f"--checksum={checksum}: unknown hash algorithm {algorithm!r}; use one of "
                        "md5, sha1, sha256, sha512")
    if not digest or any(c not in "0123456789abcdef" for c in digest):
        raise DataError(f"--checksum={checksum}: {digest!r} is not a hexadecimal digest")
    return algorithm, digest


def verify(filename, archive, checksum=None):
    """Raises DataError unless the file has the expected size and checksum ('algo:hex' overrides).
    Returns the (algorithm, digest) that was checked."""
    algorithm, digest = parse_checksum(checksum) if checksum else (archive.algorithm, archive.digest)
    if archive.size and not checksum and os.path.getsize(filename) != archive.size:
        raise DataError(f"{filename}: {os.path.getsize(filename)} bytes, expected {archive.size} "
                        f"(a truncated or different file); it was kept for inspection")
    actual = file_digest(filename, algorithm)
    if actual != digest.lower():
        raise DataError(f"{filename}: {algorithm} {actual}, expected {digest} ({archive.source or 'given'}). "
                        "The file was kept. If you trust it, rerun with "
                        f"--archive={filename} --checksum={algorithm}:{actual}")
    return algorithm, digest


def download(url, filename):
    """Downloads to filename via a .part file, so an interrupted download is never mistaken for one."""
    os.makedirs(os.path.dirname(os.path.abspath(filename)), exist_ok=True)
    part = filename + ".part"
    print(f"downloading {url} -> {filename}", file=sys.stderr)
    try:
        with urllib.request.urlopen(url, timeout=60) as response, open(part, "wb") as out:
            shutil.copyfileobj(response, out, 1 << 20)
    except (urllib.error.URLError, OSError) as e:
        if os.path.exists(part):
            os.remove(part)
        reason = getattr(e, "reason", None) or getattr(e, "strerror", None) or e
        raise DataError(f"{url}: download failed ({reason}). Check the network, or download the "
                        f"file yourself and pass --archive=<file>") from e
    os.replace(part, filename)
    return filename


def _extract(filename, dest):
    try:
        if zipfile.is_zipfile(filename):
            with zipfile.ZipFile(filename) as z:
                for member in z.namelist():
                    if os.path.isabs(member) or ".." in member.split("/"):
                        raise DataError(f"{filename}: unsafe path {member!r} in archive")
                z.extractall(dest)
        elif tarfile.is_tarfile(filename):
            with tarfile.open(filename) as t:
                t.extractall(dest, filter="data")
        else:
            raise DataError(f"{filename}: neither a zip nor a tar archive")
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError) as e:
        raise DataError(f"{filename}: damaged archive ({e})") from e
    entries = [e for e in os.listdir(dest) if not e.startswith(".")]
    single = len(entries) == 1 and os.path.isdir(os.path.join(dest, entries[0]))
    return os.path.join(dest, entries[0]) if single else dest


def _split_pairs(src_dirs, dest_a, dest_b, member=str):
    """Splits side-by-side pairs: the left half (A, photo) as JPEG quality 100, the right half
    (B, label map) as PNG, so that no second lossy pass blurs the label colours. Returns the count.
    ``member(path)`` names an extracted file in errors (the archive member, not a temporary path)."""
    os.makedirs(dest_a)
    os.makedirs(dest_b)
    count = 0
    for split_dir in src_dirs:
        prefix = os.path.basename(split_dir)
        for filename in list_images(split_dir):
            image = cv2.imread(filename, cv2.IMREAD_COLOR)
            if image is None:
                raise DataError(f"{member(filename)}: cannot be decoded")
            if image.shape[1] % 2:
                raise DataError(f"{member(filename)}: width {image.shape[1]} is odd, not a "
                                "side-by-side pair")
            half = image.shape[1] // 2
            stem = f"{prefix}_{os.path.splitext(os.path.basename(filename))[0]}"
            if not (cv2.imwrite(os.path.join(dest_a, stem + ".jpg"), image[:, :half], [cv2.IMWRITE_JPEG_QUALITY, 100])
                    and cv2.imwrite(os.path.join(dest_b, stem + ".png"), image[:, half:])):
                raise OSError(f"could not write {stem} under {os.path.dirname(dest_a)}")
            count += 1
    return count


def _check_kind(filename, root, archive, folders):
    """A wrong archive (e.g. CycleGAN's zip for a pix2pix name) fails naming what it lacks."""
    missing = [f for f in folders if not os.path.isdir(os.path.join(root, f))]
    if missing:
        found = sorted(e for e in os.listdir(root) if os.path.isdir(os.path.join(root, e)))
        raise DataError(f"{filename}: not the {archive.kind} archive this --name expects: it lacks "
                        f"{', '.join(m + '/' for m in missing)} (it holds {', '.join(found) or 'no folders'})")


def _layout(filename, root, archive, layout, dest, member=str):
    counts = {}
    if archive.kind == "cyclegan":
        if layout != "unpaired":
            raise DataError("--layout=pix2pix needs a pix2pix archive; this one is unpaired")
        _check_kind(filename, root, archive, ("trainA", "trainB", "testA", "testB"))
        for sub in ("trainA", "trainB", "testA", "testB"):
            shutil.move(os.path.join(root, sub), os.path.join(dest, sub))
            counts[sub] = len(list_images(os.path.join(dest, sub)))
        return counts
    _check_kind(filename, root, archive, ("train", *archive.test_splits))
    splits = {"train": [os.path.join(root, "train")],
              "test": [os.path.join(root, s) for s in archive.test_splits]}
    for split, dirs in splits.items():
        if layout == "pix2pix":
            for d in dirs:
                shutil.move(d, os.path.join(dest, os.path.basename(d)))
                counts[os.path.basename(d)] = len(list_images(os.path.join(dest, os.path.basename(d))))
        else:
            n = _split_pairs(dirs, os.path.join(dest, split + "A"), os.path.join(dest, split + "B"),
                             member)
            counts[split + "A"] = counts[split + "B"] = n
    return counts


def prepare(archive, out, *, layout="unpaired", archive_file=None, download_dir="data/downloads",
            checksum=None, name=""):
    """Verifies (downloading if needed) and lays out one dataset at ``out``; returns the counts."""
    if os.path.exists(out) and not os.path.isdir(out):
        raise DataError(f"--out={out}: is a file, not a folder; choose another --out")
    if os.path.exists(out) and os.listdir(out):
        raise DataError(f"{out}: already exists and is not empty; remove it or choose another --out")
    filename = os.path.expanduser(archive_file) if archive_file else os.path.join(
        download_dir, os.path.basename(archive.url))
    if archive_file and not os.path.isfile(filename):
        raise DataError(f"{filename}: --archive file not found")
    if checksum:
        parse_checksum(checksum)  # a malformed --checksum fails before any download
    if not os.path.isfile(filename):
        download(archive.url, filename)
    algorithm, digest = verify(filename, archive, checksum)
    parent = os.path.dirname(os.path.abspath(out))
    os.makedirs(parent, exist_ok=True)
    work = tempfile.mkdtemp(prefix=".prepare-", dir=parent)
    try:
        extracted = os.path.join(work, "extracted")
        root = _extract(filename, extracted)
        dest = os.path.join(work, "dataset")
        os.makedirs(dest)
        counts = _layout(filename, root, archive, layout, dest,
                         lambda path: f"{filename}: member {os.path.relpath(path, extracted)}")
        with open(os.path.join(dest, "PREPARED.json"), "w", encoding="utf-8") as f:
            json.dump({"name": name, "url": archive.url, "archive": os.path.abspath(filename),
                       algorithm: digest, "checksum_overridden": bool(checksum),
                       "layout": layout, "counts": counts}, f, indent=2)
        if os.path.exists(out):
            os.rmdir(out)
        os.replace(dest, out)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return counts


SELECTION = "deepfashion-swap"  # not an archive: datasets/persons/selection.py


def _select(fv):
    """--name=deepfashion-swap: the thesis's selection from --data_dir's keypoint CSVs."""
    from datasets.persons.selection import prepare_selection  # only this --name needs it
    if not fv.data_dir:
        raise DataError(f"--name={SELECTION} needs --data_dir=<the DeepFashion folder>")
    out = fv.out or os.path.join("data", SELECTION)
    manifest = prepare_selection(fv.data_dir, out, train_pairs=fv.train_pairs,
                                 test_images=fv.test_images, seed=fv.seed, overwrite=fv.overwrite)
    return out, manifest


def main(argv):
    del argv
    from absl import flags as absl_flags

    from flags.common import run_main
    fv = absl_flags.FLAGS
    if fv.name == SELECTION:
        out, manifest = run_main(lambda: _select(fv))
        for split in ("train", "test"):
            rows = manifest["rows"][split]
            print(f"{split}: {rows['rows']} keypoint rows; kept by the rule up to each criterion: "
                  + ", ".join(f"{k} {v}" for k, v in rows["cumulative"].items()))
        drawn, asked = manifest["drawn"], manifest["requested"]
        print(f"wrote {out}: {drawn['train_pairs']} training pairs ({asked['train_pairs']} "
              f"requested), {drawn['test_images']} test images ({asked['test_images']} requested), "
              f"{drawn['test_pairs']} test pairs")
        return
    counts = run_main(lambda: prepare(
        ARCHIVES[fv.name], fv.out or os.path.join("data", fv.name), layout=fv.layout,
        archive_file=fv.archive, download_dir=fv.download_dir, checksum=fv.checksum, name=fv.name))
    print(f"prepared {fv.name}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))


if __name__ == "__main__":
    from absl import app
    from absl import flags as absl_flags
    absl_flags.DEFINE_enum("name", "facades", [*sorted(ARCHIVES), SELECTION], "Dataset to prepare.")
    absl_flags.DEFINE_string("out", None, "Destination folder (default data/<name>).")
    absl_flags.DEFINE_enum("layout", "unpaired", ["unpaired", "pix2pix"], "unpaired: trainA/ trainB/ "
                           "testA/ testB/ (--dataset=unpaired); pix2pix: side-by-side train/ val/ test/.")
    absl_flags.DEFINE_string("archive", None, "Use this local archive instead of downloading.")
    absl_flags.DEFINE_string("download_dir", "data/downloads", "Where downloads are kept.")
    absl_flags.DEFINE_string("checksum", None, "Override the expected checksum, as algo:hex.")
    absl_flags.DEFINE_string("data_dir", None, f"--name={SELECTION}: the DeepFashion folder whose "
                             "fasion-annotation-* and fashion-pairs-* CSVs are selected from.")
    absl_flags.DEFINE_integer("train_pairs", 3000, f"--name={SELECTION}: training pairs (8.2.3).")
    absl_flags.DEFINE_integer("test_images", 1372, f"--name={SELECTION}: test images (8.2.3).")
    absl_flags.DEFINE_integer("seed", 0, f"--name={SELECTION}: seed of the draws.")
    absl_flags.DEFINE_boolean("overwrite", False, f"--name={SELECTION}: replace a selection.")
    app.run(main)
