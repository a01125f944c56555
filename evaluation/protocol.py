"""The test protocol of Tables 8.2 and 8.3 (thesis 8.2.4) and its streaming scorer.

Pairs: every test image is the reference once, with ``conditions_per_reference`` conditions drawn
without replacement from the other test images by numpy's generator seeded with (seed, reference
index), so a reference's conditions do not depend on how many references are evaluated;
``max_references`` takes a seeded subset of references for small runs. Every method sees the same
list. 1,372 test images x 25 conditions give 34,300 pairs, the thesis's "about 34,000".

Scoring streams the pairs through a method ``batch_size`` at a time: each batch's outputs are
quantised to 8 bits (what a saved result holds, as published IS / SSIM were computed on image
files), fed to Inception at once and compared with their SSIM targets, so only the Inception
outputs are kept (float32 probabilities and pool features, about 0.4 GB for 34,300 images).

SSIM: ``metrics.ssim`` (Gaussian window sigma 1.5, population covariances, over RGB) of the uint8
images with data_range 255; the per-pair values are kept (in pair order) for the bootstrap
intervals of ``evaluation.uncertainty``, as is IS's interval, computed here from the probabilities.

Ground truth (beyond the thesis; synthetic persons only): with a ``ground_truth.GroundTruth``,
the swap outputs are also scored against each pair's rendered target, per pair.
"""
import collections
import concurrent.futures
import hashlib
import os

import numpy as np

from evaluation import ground_truth as gt
from evaluation import metrics
from evaluation.inception import FLAG, INPUT_SIZE, InceptionRunner, WeightsError, load_inception
from evaluation.inception_graph import GraphRunner, load_inception_graph
from evaluation.methods import person_inputs, stack_examples
from evaluation.uncertainty import inception_score_interval
from models.pretrained import check_weights_file
from training.config import ConfigError
from training.progress import ProgressBar
from training.summaries import to_uint8

SALT = 82  # keeps the protocol's draws apart from other streams seeded with the same --seed
SSIM_DATA_RANGE = 255
CACHE_CAPACITY = 256  # person examples kept (the references of consecutive pairs repeat)


def protocol_pairs(num_images, conditions_per_reference=25, seed=0, max_references=None):
    """(P, 2) int64 (reference, condition) test-image indices, grouped by reference (module doc)."""
    if num_images < 2:
        raise ConfigError(f"the test set has {num_images} image(s); the protocol needs at least 2")
    k = conditions_per_reference
    if not 1 <= k <= num_images - 1:
        raise ConfigError(f"--conditions_per_reference={k}: must lie in 1..{num_images - 1} "
                          f"(the test set has {num_images} images)")
    references = np.arange(num_images)
    if max_references is not None:
        if max_references < 1:
            raise ConfigError(f"--max_references={max_references}: must be >= 1")
        if max_references < num_images:
            rng = np.random.default_rng([seed, SALT])
            references = np.sort(rng.choice(num_images, max_references, replace=False))
    rows = []
    for r in references:
        others = np.random.default_rng([seed, SALT, int(r)]).choice(num_images - 1, k, replace=False)
        rows.append(np.stack([np.full(k, r), others + (others >= r)], axis=1))
    return np.concatenate(rows).astype(np.int64)


def pairs_digest(test, pairs):
    """sha256 of the pairs as image names: the list a cached score was computed on."""
    text = "\n".join(f"{test.names[r]},{test.names[c]}" for r, c in pairs)
    return hashlib.sha256(text.encode()).hexdigest()


class Examples:
    """``person_inputs`` of test images by index at one size, computed in a thread pool and the
    most recent ``CACHE_CAPACITY`` kept."""

    def __init__(self, test, image_size, workers=None):
        self.test, self.image_size = test, image_size
        self.cache = collections.OrderedDict()
        self.workers = workers or min(8, os.cpu_count() or 1)

    def _one(self, i):
        parsing = self.test.parsing_paths[i] if self.test.parsing_paths is not None else None
        return person_inputs(self.test.paths[i], self.test.keypoints[i], parsing,
                             image_size=self.image_size)

    def batch(self, indices, pool):
        """A stacked batch of the examples of ``indices``."""
        missing = sorted({int(i) for i in indices} - set(self.cache))
        for i, example in zip(missing, pool.map(self._one, missing)):
            self.cache[i] = example
        for i in indices:
            self.cache.move_to_end(int(i))
        while len(self.cache) > max(CACHE_CAPACITY, 2 * len(indices)):
            self.cache.popitem(last=False)
        return stack_examples([self.cache[int(i)] for i in indices])


def pair_batches(test, pairs, image_size, batch_size):
    """Yields (reference batch, condition batch, pairs done) over ``pairs``, in order."""
    examples = Examples(test, image_size)
    with concurrent.futures.ThreadPoolExecutor(examples.workers) as pool:
        for start in range(0, len(pairs), batch_size):
            chunk = pairs[start:start + batch_size]
            yield (examples.batch(chunk[:, 0], pool), examples.batch(chunk[:, 1], pool),
                   start + len(chunk))


class Classifier:
    """The Inception network of IS / FID / KID, loaded on first use.

    ``weights``: "imagenet" (Keras's file, fetched once) or a path, checked at once (a missing or
    corrupt path is a ConfigError naming it). When the ImageNet file cannot be fetched, ``runner()``
    returns None and ``note`` says how to provide it: the tables then show n/a for IS, FID and KID
    and still compute everything else. ``graph``: the 2015 TF Inception graph (.pb or its .tgz,
    ``inception_graph.py``); when given it is the classifier of IS (1008 classes), FID and KID
    (pool_3), ``weights`` and ``input_size`` play no part, and a graph that does not load is a
    ConfigError.
    """

    def __init__(self, weights="imagenet", input_size=INPUT_SIZE, batch_size=50, graph=None):
        if input_size < 75:
            raise ConfigError(f"--inception_size={input_size}: InceptionV3 needs >= 75")
        self.weights, self.input_size, self.batch_size = weights, input_size, batch_size
        self.graph = graph
        if graph:  # the 2015 TF graph (inception_graph.py): IS, FID and KID all use it
            if weights not in (None, "", "imagenet"):
                raise ConfigError(f"--inception_graph={graph} and --inception_weights={weights}: "
                                  "give --inception_graph or --inception_weights, not both")
            path = os.path.abspath(graph)
            if not os.path.isfile(path):
                raise ConfigError(f"--inception_graph={graph}: file not found")
            with open(path, "rb") as f:
                digest = hashlib.file_digest(f, "sha1").hexdigest()
            self.identity = {"graph": path, "sha1": digest}
            self.note, self.label, self._runner, self._tried = None, None, None, False
            return
        if not weights:
            raise ConfigError(f"--{FLAG}: empty; pass 'imagenet' or the path of a weights file")
        if weights == "imagenet":
            self.identity = {"weights": "imagenet"}
        else:
            try:
                path = os.path.abspath(check_weights_file(weights, FLAG))
            except WeightsError as e:
                raise ConfigError(str(e)) from e
            with open(path, "rb") as f:
                digest = hashlib.file_digest(f, "sha1").hexdigest()
            self.identity = {"weights": path, "sha1": digest}
        self.note, self.label, self._runner, self._tried = None, None, None, False

    def provenance(self, available=True):
        """What a score computed with this classifier (or, ``available=False``, without any)
        depends on."""
        if not available:
            return None
        return dict(self.identity) if self.graph else {**self.identity, "input_size": self.input_size}

    def tag(self, available=True):
        """A short file-name part naming the classifier."""
        if not available:
            return "noinception"
        if self.graph:  # the graph resizes to its own size: input_size plays no part
            stem = os.path.basename(self.identity["graph"]).split(".")[0]
            return f"graph-{stem}-{self.identity['sha1'][:8]}"
        if self.identity["weights"] == "imagenet":
            name = "imagenet"
        else:
            stem = os.path.basename(self.identity["weights"]).split(".")[0]
            name = f"{stem}-{self.identity['sha1'][:8]}"
        return name if self.input_size == INPUT_SIZE else f"{name}-{self.input_size}px"

    def runner(self):
        """The InceptionRunner, or None when the ImageNet weights cannot be fetched."""
        if not self._tried and self.graph:
            self._tried = True
            try:
                inception = load_inception_graph(self.identity["graph"])
            except WeightsError as e:
                raise ConfigError(str(e)) from e
            self._runner = GraphRunner(inception, self.batch_size)
            self.label = self._runner.label
        if not self._tried:
            self._tried = True
            try:
                inception = load_inception(self.identity["weights"], self.input_size)
            except WeightsError as e:
                if self.identity["weights"] != "imagenet":
                    raise ConfigError(str(e)) from e
                self.note = f"IS, FID and KID: n/a: {e}"
                return None
            self._runner = InceptionRunner(inception, self.batch_size)
            self.label = self._runner.label
        return self._runner


class Accumulator:
    """One output's Inception outputs and SSIM sum, batch by batch."""

    def __init__(self, runner, with_ssim, with_truth=False):
        self.runner, self.with_ssim = runner, with_ssim
        self.probs, self.features, self.ssim_sum, self.count = [], [], 0.0, 0
        self.truth = gt.Scores() if with_truth else None
        self.ssim_values = []  # per pair, in pair order: what the bootstrap resamples

    def add(self, images, targets=None, truth=None):
        """``images`` uint8 (N, S, S, 3); ``targets`` their SSIM references (uint8) or None;
        ``truth`` (ground-truth targets uint8, masks) or None."""
        if self.truth is not None:
            self.truth.add(images, *truth)
        if self.runner is not None:
            probs, features = self.runner.predict(images)
            self.probs.append(probs.astype(np.float32))
            self.features.append(features.astype(np.float32))
        if self.with_ssim:
            values = [metrics.ssim(a, b, SSIM_DATA_RANGE) for a, b in zip(images, targets)]
            self.ssim_values += values
            self.ssim_sum += sum(values)
        self.count += len(images)

    def result(self, real_features, splits):
        """{images, is_mean, is_std, fid, kid_mean, kid_std[, ssim]}; None where not computable."""
        out = dict.fromkeys(("is_mean", "is_std", "fid", "kid_mean", "kid_std"))
        out["images"] = self.count
        if self.runner is not None:
            probs = np.concatenate(self.probs).astype(np.float64)
            probs /= probs.sum(1, keepdims=True)  # float32 rounding: rows sum to 1 again
            features = np.concatenate(self.features)
            out["is_mean"], out["is_std"] = metrics.inception_score(probs, splits)
            out["fid"] = metrics.fid(features, real_features)
            out["kid_mean"], out["kid_std"] = metrics.kid(features, real_features)
            out["is_interval"] = inception_score_interval(probs, splits)
        if self.with_ssim:
            out["ssim"] = self.ssim_sum / self.count
            out["ssim_per_pair"] = self.ssim_values
        if self.truth is not None:
            out["ground_truth"] = self.truth.result()
        return out


def real_features(test, image_size, runner, batch_size):
    """Inception pool features of every real test image at ``image_size`` (8-bit, like the
    generated ones): the reference set of FID and KID."""
    examples = Examples(test, image_size)
    with concurrent.futures.ThreadPoolExecutor(examples.workers) as pool:
        batches = (to_uint8(examples.batch(np.arange(s, min(s + batch_size, test.num_images)),
                                           pool)["x"])
                   for s in range(0, test.num_images, batch_size))
        return runner.predict(batches)[1]


def score_pairs(outputs, test, pairs, image_size, *, runner, splits=10, batch_size=32,
                ssim_targets=(), real=None, progress_stream=None, truth=None):
    """Streams the pairs through ``outputs(reference batch, condition batch) -> {name: float
    images in [-1, 1]}``; returns {name: ``Accumulator.result``}. Outputs named in
    ``ssim_targets`` are scored by SSIM against the condition image X_c; with a ``GroundTruth``
    ``truth``, those in ``gt.TRUTH_OUTPUTS`` also against the pair's target. ``real``: the real test
    features (computed here when None and a runner is given)."""
    if len(pairs) < splits:
        raise ConfigError(f"--splits={splits}: the protocol gives only {len(pairs)} pairs; use "
                          "more --conditions_per_reference or --max_references")
    found = {}
    bar = ProgressBar(len(pairs), 0, 1, stream=progress_stream)
    tenth = max(len(pairs) // 10, 1)
    for reference, condition, done in pair_batches(test, pairs, image_size, batch_size):
        produced = outputs(reference, condition)
        target = to_uint8(condition["x"])
        truths = None
        if truth is not None:
            truths = truth.compared(pairs[done - len(target):done], image_size, reference["m"])
        for name, images in produced.items():
            if name not in found:
                found[name] = Accumulator(runner, name in ssim_targets,
                                          truth is not None and name in gt.TRUTH_OUTPUTS)
            found[name].add(to_uint8(images), target, truths)
        bar.update(done, force=done == len(pairs) or done % tenth < batch_size)
    bar.close()
    if runner is not None and real is None:
        real = real_features(test, image_size, runner, batch_size)
    return {name: acc.result(real, splits) for name, acc in found.items()}
