"""Where the two domains of a CycleGAN run come from: --dataset, --data_dir, --direction."""
import dataclasses
import os

from absl import logging

from datasets.files import DataError, fingerprint, list_images, scan_images
from datasets.pipeline import Domain, cache_bytes, fixed_images, unpaired_batches
from datasets.synthetic_facades import ensure_synthetic_facades

PREPARE_HINT = ("Get the CMP facades (400 train / 206 test, as in the thesis) with\n"
                "    python -m datasets.prepare --name=facades --out={root}\n"
                "(downloads the pix2pix archive and checks its checksum), point --data_dir at a "
                "folder with trainA/ trainB/ testA/ testB/, or train offline on the built-in data "
                "with --dataset=synthetic.")


@dataclasses.dataclass(frozen=True)
class CycleData:
    """Train and test images of both domains, after --direction."""

    train_a: Domain
    train_b: Domain
    test_a: Domain
    test_b: Domain

    def steps_per_epoch(self, batch_size):
        """An unpaired epoch is max(|A|, |B|) examples (CycleGAN's convention)."""
        return max(1, max(len(self.train_a), len(self.train_b)) // batch_size)

    def train_batches(self, config, start_step, total_steps):
        if config.cache_decoded:
            size = cache_bytes(self.train_a, self.train_b, load_size=config.load_size)
            logging.info("--cache_decoded: %d + %d training images decoded and resized to %d px "
                         "once, %.1f MB of memory", len(self.train_a), len(self.train_b),
                         config.load_size, size / 2 ** 20)
        return unpaired_batches(self.train_a, self.train_b, seed=config.seed,
                                batch_size=config.batch_size, image_size=config.image_size,
                                load_size=config.load_size, flip=config.flip,
                                start_step=start_step, total_steps=total_steps,
                                cache_decoded=config.cache_decoded)

    def fingerprint(self):
        """The training files of both domains (config.json records it; a resume checks it)."""
        return {f"train_{name}": {"half": domain.half, **fingerprint(domain.paths)}
                for name, domain in (("a", self.train_a), ("b", self.train_b))}

    def sample_images(self, count, image_size):
        """Fixed test images of each domain for the sample grids."""
        return (fixed_images(self.test_a, count, image_size),
                fixed_images(self.test_b, count, image_size))


def _scanned(paths, skip_corrupt, check_shape=None):
    kept, _ = scan_images(paths, skip_corrupt=skip_corrupt, check_shape=check_shape)
    return tuple(kept)


def _unpaired(root, skip_corrupt):
    found = {}
    for split in ("train", "test"):
        for side in ("A", "B"):
            folder = os.path.join(root, split + side)
            if split == "test" and not os.path.isdir(folder):
                found[split + side] = None  # no test split: samples come from train
                continue
            found[split + side] = Domain(_scanned(list_images(folder), skip_corrupt))
    test_a = found["testA"] or found["trainA"]
    test_b = found["testB"] or found["trainB"]
    return found["trainA"], found["trainB"], test_a, test_b


def _pix2pix_width_check(path, shape):
    if shape[1] % 2:
        return (f"width {shape[1]} is odd; a pix2pix image holds two equal halves side by side "
                "(A left, B right)")
    return None


def _pix2pix(root, skip_corrupt):
    train = os.path.join(root, "train")
    paths = _scanned(list_images(train), skip_corrupt, _pix2pix_width_check)
    test_dir = next((os.path.join(root, s) for s in ("test", "val")
                     if os.path.isdir(os.path.join(root, s))), None)
    test = _scanned(list_images(test_dir), skip_corrupt, _pix2pix_width_check) if test_dir else paths
    return (Domain(paths, "left"), Domain(paths, "right"), Domain(test, "left"), Domain(test, "right"))


def load_cycle_data(config):
    """Resolves the configured dataset into a CycleData, raising DataError with a way out."""
    root = config.data_dir
    if config.dataset == "synthetic":
        ensure_synthetic_facades(root)
    elif not os.path.isdir(root):
        hint = PREPARE_HINT.format(root=config.data_dir) if config.dataset == "unpaired" else (
            "Prepare a pix2pix dataset with python -m datasets.prepare --name=facades "
            f"--layout=pix2pix --out={config.data_dir}, or use --dataset=synthetic.")
        raise DataError(f"{config.data_dir}: no dataset there (--dataset={config.dataset}).\n{hint}")
    if config.dataset == "pix2pix":
        parts = _pix2pix(root, config.skip_corrupt_images)
    else:
        parts = _unpaired(root, config.skip_corrupt_images)
    train_a, train_b, test_a, test_b = parts
    if config.direction == "BtoA":
        train_a, train_b, test_a, test_b = train_b, train_a, test_b, test_a
    return CycleData(train_a, train_b, test_a, test_b)
