"""The 2015-graph loader (--inception_graph) on a small GraphDef built here with the real graph's
node names and conventions (DecodeJpeg -> Cast -> ExpandDims front end, ResizeBilinear with a
constant size, Sub 128, Mul 1/128, a convolution, pool_3, a batch-1 pool_3/_reshape and
softmax/logits/MatMul + biases + softmax with 1008 classes), checked against numpy."""
import io
import tarfile

import numpy as np
import pytest
import tensorflow as tf

from evaluation import metrics, protocol
from evaluation.inception_graph import GraphRunner, WeightsError, load_inception_graph
from training.config import ConfigError

CLASSES, FEATURES, SIZE, KERNEL, STRIDE = 1008, 8, 37, 3, 2
rng = np.random.default_rng(0)
CONV = rng.normal(0, 0.5, (KERNEL, KERNEL, 3, FEATURES)).astype(np.float32)
WEIGHTS = rng.normal(0, 8.0, (FEATURES, CLASSES)).astype(np.float32)
BIASES = rng.normal(0, 3.0, CLASSES).astype(np.float32)  # improved-gan leaves these out


def graph_def_bytes(with_matmul=True):
    graph = tf.Graph()
    with graph.as_default():
        contents = tf.compat.v1.placeholder(tf.string, [], name="DecodeJpeg/contents")
        decoded = tf.io.decode_jpeg(contents, channels=3, name="DecodeJpeg")
        cast = tf.cast(decoded, tf.float32, name="Cast")
        expanded = tf.expand_dims(cast, 0, name="ExpandDims")
        size = tf.constant([SIZE, SIZE], name="ResizeBilinear/size")
        resized = tf.raw_ops.ResizeBilinear(images=expanded, size=size, align_corners=False,
                                            name="ResizeBilinear")
        scaled = tf.multiply(tf.subtract(resized, 128.0, name="Sub"), 1.0 / 128.0, name="Mul")
        conv = tf.nn.relu(tf.nn.conv2d(scaled, CONV, STRIDE, "VALID", name="conv"), name="conv/relu")
        side = (SIZE - KERNEL) // STRIDE + 1
        pool = tf.nn.avg_pool2d(conv, side, 1, "VALID", name="pool_3")
        flat = tf.reshape(pool, [1, FEATURES], name="pool_3/_reshape")  # batch 1, as in 2015
        if with_matmul:
            matmul = tf.matmul(flat, tf.constant(WEIGHTS, name="softmax/weights"),
                               name="softmax/logits/MatMul")
            logits = tf.nn.bias_add(matmul, tf.constant(BIASES, name="softmax/biases"),
                                    name="softmax/logits")
            tf.nn.softmax(logits, name="softmax")
    # with _output_shapes (batch 1 everywhere), the worst case of a graph exported in 2015
    return graph.as_graph_def(add_shapes=True).SerializeToString()


def legacy_resize(image, size):
    """TF1 resize_bilinear, align_corners false, no half-pixel centres, in numpy."""
    def axis(n):
        source = np.arange(size) * (n / size)
        low = np.floor(source).astype(int)
        return low, np.minimum(low + 1, n - 1), source - low
    (y0, y1, dy), (x0, x1, dx) = axis(image.shape[0]), axis(image.shape[1])
    rows = image[y0] * (1 - dy)[:, None, None] + image[y1] * dy[:, None, None]
    return rows[:, x0] * (1 - dx)[None, :, None] + rows[:, x1] * dx[None, :, None]


def numpy_graph(images):
    """(probs without the bias, pool_3 features) of the graph above for 0..255 images."""
    probs, features = [], []
    for image in images.astype(np.float64):
        x = (legacy_resize(image, SIZE) - 128.0) / 128.0
        side = (SIZE - KERNEL) // STRIDE + 1
        windows = np.stack([[x[i * STRIDE:i * STRIDE + KERNEL, j * STRIDE:j * STRIDE + KERNEL]
                             for j in range(side)] for i in range(side)])
        conv = np.maximum(np.einsum("ijabc,abcf->ijf", windows, CONV), 0)
        feature = conv.mean((0, 1))
        logits = feature @ WEIGHTS
        e = np.exp(logits - logits.max())
        probs.append(e / e.sum())
        features.append(feature)
    return np.array(probs), np.array(features)


@pytest.fixture(scope="module")
def graph_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("graph")
    pb = folder / "classify_image_graph_def.pb"
    pb.write_bytes(graph_def_bytes())
    tgz = folder / "inception-2015-12-05.tgz"
    with tarfile.open(tgz, "w:gz") as archive:
        for name, data in (("imagenet_synset_to_human_label_map.txt", b"n0 thing\n"),
                           ("classify_image_graph_def.pb", pb.read_bytes())):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return pb, tgz


def test_graph_gives_improved_gan_probs_and_pool_3_features(graph_files):
    pb, tgz = graph_files
    draw = np.random.default_rng(1)  # a colour per image, plus noise: the features differ
    images = np.clip(draw.integers(0, 256, (12, 1, 1, 3)) + draw.normal(0, 30, (12, 20, 24, 3)),
                     0, 255).astype(np.uint8)
    want_probs, want_features = numpy_graph(images)
    for path in (pb, tgz):
        inception = load_inception_graph(str(path))
        assert inception.label == f"Inception 2015 graph ({path.name}, 1008 classes)"
        assert (inception.num_classes, inception.feature_dim) == (CLASSES, FEATURES)
        assert inception.resize == {"size": [SIZE, SIZE], "align_corners": False,
                                    "half_pixel_centers": False}
        seen = []
        probs, features = GraphRunner(inception, batch_size=5).predict(images, progress=seen.append)
        assert seen == [5, 10, 12] and probs.shape == (12, CLASSES)
        np.testing.assert_allclose(features, want_features, rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(probs, want_probs, rtol=1e-3, atol=1e-7)
        # the scores through the graph are the scores of the numpy graph
        got_is = metrics.inception_score(probs, splits=3)
        np.testing.assert_allclose(got_is, metrics.inception_score(want_probs, splits=3), rtol=1e-4)
        assert got_is[0] > 1.5  # the random softmax really varies between images
        reference = want_features[::-1] * 1.5 + 0.1
        np.testing.assert_allclose(metrics.fid(features, reference),
                                   metrics.fid(want_features, reference), rtol=1e-3)
    # [-1, 1] floats are the same pixels as uint8, and batch size 1 (improved-gan's) agrees
    unit = images.astype(np.float32) / 127.5 - 1.0
    probs1, _ = GraphRunner(inception, batch_size=1).predict(unit)
    np.testing.assert_allclose(probs1, want_probs, rtol=1e-3, atol=1e-7)


def test_bad_graph_files_fail_in_one_line(graph_files, tmp_path):
    missing = tmp_path / "nope.pb"
    text = tmp_path / "notes.pb"
    text.write_bytes(b"\xff\xff\xff\xff not a protobuf at all")
    empty = tmp_path / "empty.pb"
    empty.write_bytes(b"")
    other = tmp_path / "other.pb"
    other.write_bytes(graph_def_bytes(with_matmul=False))
    tgz = tmp_path / "other.tgz"
    with tarfile.open(tgz, "w:gz") as archive:
        info = tarfile.TarInfo("readme.txt")
        info.size = 2
        archive.addfile(info, io.BytesIO(b"hi"))
    cases = [(missing, "file not found"), (text, "not a TensorFlow GraphDef"),
             (empty, "not a TensorFlow GraphDef"),
             (other, "without the node.s. softmax/logits/MatMul"),
             (tgz, "the archive holds no classify_image_graph_def.pb")]
    for path, message in cases:
        with pytest.raises(WeightsError, match=f"--inception_graph={path}.*{message}") as error:
            load_inception_graph(str(path))
        assert "\n" not in str(error.value)


def test_classifier_uses_the_graph_for_is_fid_and_kid(graph_files, tmp_path):
    pb, _ = graph_files
    classifier = protocol.Classifier(graph=str(pb), batch_size=4)
    assert classifier.provenance()["graph"] == str(pb) and "input_size" not in classifier.provenance()
    assert classifier.tag().startswith("graph-classify_image_graph_def-")
    runner = classifier.runner()
    assert isinstance(runner, GraphRunner) and classifier.label.startswith("Inception 2015 graph")
    with pytest.raises(ConfigError, match="--inception_graph=.*nope.pb: file not found"):
        protocol.Classifier(graph=str(tmp_path / "nope.pb"))
    with pytest.raises(ConfigError, match="give --inception_graph or --inception_weights"):
        protocol.Classifier(weights=str(tmp_path / "w.h5"), graph=str(pb))
    bad = tmp_path / "bad.pb"
    bad.write_bytes(graph_def_bytes(with_matmul=False))
    with pytest.raises(ConfigError, match="bad.pb.*softmax/logits/MatMul"):
        protocol.Classifier(graph=str(bad)).runner()


def test_protocol_scores_through_the_graph_match_numpy(graph_files, synthetic_persons):
    """IS, FID and KID of a swap 'method' (the condition image itself) on the synthetic persons,
    scored by the protocol through the graph, equal the numpy graph's on the same 8-bit images."""
    from datasets.persons.deepfashion import load_person_set
    from training.summaries import to_uint8

    test = load_person_set(synthetic_persons, "test")
    pairs = protocol.protocol_pairs(test.num_images, 3, seed=0)
    runner = GraphRunner(load_inception_graph(str(graph_files[0])), batch_size=4)
    got = protocol.score_pairs(lambda r, c: {"image": c["x"]}, test, pairs, 32, runner=runner,
                               splits=2, batch_size=5, progress_stream=io.StringIO())["image"]
    scored = np.concatenate([to_uint8(c["x"]) for _, c, _ in
                             protocol.pair_batches(test, pairs, 32, 5)])
    every = np.stack([np.arange(test.num_images)] * 2, 1)  # each real test image once
    real = np.concatenate([to_uint8(c["x"]) for _, c, _ in protocol.pair_batches(test, every, 32, 5)])
    probs, features = numpy_graph(scored)
    _, real_features = numpy_graph(real)
    assert got["images"] == len(pairs) == 3 * test.num_images
    np.testing.assert_allclose(got["is_mean"], metrics.inception_score(probs, 2)[0], rtol=1e-3)
    np.testing.assert_allclose(got["fid"], metrics.fid(features, real_features), rtol=1e-3,
                               atol=1e-6)
    np.testing.assert_allclose(got["kid_mean"], metrics.kid(features, real_features)[0],
                               rtol=1e-2, atol=1e-6)


def test_inception_graph_flag_reaches_the_classifier_and_the_notes(graph_files):
    from absl import flags as absl_flags

    from evaluation import swap_scores as ss

    fv = absl_flags.FlagValues()
    ss.define_protocol_flags(fv)
    fv(["table", f"--inception_graph={graph_files[1]}"])
    classifier = ss.classifier_from_flags(fv)
    assert classifier.provenance() == {"graph": str(graph_files[1]),
                                       "sha1": classifier.identity["sha1"]}
    fv_default = absl_flags.FlagValues()
    ss.define_protocol_flags(fv_default)
    fv_default(["table"])
    assert ss.classifier_from_flags(fv_default).graph is None  # Keras InceptionV3 stays the default
    table = {"inception": classifier.provenance()}
    assert "the classifier of the thesis's IS" in ss._classifier_note(table)
    assert "only values from one classifier compare" in ss._classifier_note({"inception": None})
