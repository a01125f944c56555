"""The 2015 TensorFlow Inception graph that published inception scores used (--inception_graph).

``inception-2015-12-05.tgz`` holds ``classify_image_graph_def.pb``, a frozen GraphDef of
Inception v3 with 1008 output classes. openai/improved-gan's ``inception_score/model.py`` (and
TTUR's ``fid.py``, which copies its loader) reads it as follows, and so does this module:

- Input: images as float32 in 0..255, (N, H, W, 3), any H and W, fed to ``ExpandDims:0``. The
  graph's own front end (``DecodeJpeg`` -> ``Cast`` -> ``ExpandDims``) is bypassed.
- Resize: done by the graph itself. Its ``ResizeBilinear`` node scales to 299x299 with TF1's
  ``resize_bilinear``: align_corners false and no half-pixel centres (the attribute is younger
  than the file, so it takes its default, false): output pixel i samples input coordinate
  i * in_size / 299, interpolating the two neighbours (the last one clamped at the border). There
  is no antialiasing. Then ``Sub`` 128 and ``Mul`` 1/128 bring the pixels to [-1, 1).
  ``GraphInception.resize`` reports the attributes found in the file.
- IS: logits = squeeze(``pool_3:0``) @ W, where W is the second input of
  ``softmax/logits/MatMul`` (2048 x 1008); the graph's bias (``softmax/biases``) is *not* added,
  exactly as in improved-gan; p(y|x) = softmax(logits); 10 splits; IS = exp(mean KL)
  (``metrics.inception_score``).
- FID / KID: the 2048 ``pool_3`` features, as TTUR's ``fid.py`` and pytorch-fid use them.

improved-gan fed one image at a time and rewrote the graph's batch-1 static shapes to allow more;
here ``ExpandDims:0`` is mapped at import onto a (None, None, None, 3) input, so every shape
after it is inferred for batches. The graph runs as a TF2 function (``wrap_function`` around
``import_graph_def``, then pruned to the outputs); there is no TF1 session.

    runner = GraphRunner(load_inception_graph("inception-2015-12-05.tgz"))
    probs, features = runner.predict(images)          # (N, 1008), (N, 2048)
"""
import dataclasses
import os
import tarfile

from google.protobuf.message import DecodeError
import numpy as np
import tensorflow as tf

from evaluation.inception import _to_unit_range, predict_in_batches
from models.pretrained import WeightsError

__all__ = ["GRAPH_FILE", "GraphInception", "GraphRunner", "load_inception_graph",
           "read_graph_def"]

FLAG = "inception_graph"
GRAPH_FILE = "classify_image_graph_def.pb"
INPUT = "ExpandDims:0"
POOL = "pool_3:0"
LOGITS_MATMUL = "softmax/logits/MatMul"
RESIZE = "ResizeBilinear"
REQUIRED = tuple(name.split(":")[0] for name in (INPUT, POOL, LOGITS_MATMUL))


@dataclasses.dataclass(frozen=True)
class GraphInception:
    """The imported graph as a function of float32 0..255 images -> (probs, pool_3 features)."""

    function: object
    label: str
    num_classes: int
    feature_dim: int
    resize: dict  # the ResizeBilinear node's size and attributes ({} when the graph has none)


def _where(path):
    return f"--{FLAG}={path}"


def read_graph_def(path):
    """The GraphDef in ``path``: a .pb file, or a tar archive (e.g. inception-2015-12-05.tgz)
    holding ``classify_image_graph_def.pb``. WeightsError (one line, naming the flag and path)
    when the file is missing, the archive lacks the .pb, or the bytes are not a GraphDef."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise WeightsError(f"{_where(path)}: file not found (download "
                           "http://download.tensorflow.org/models/image/imagenet/"
                           f"inception-2015-12-05.tgz and pass it or its {GRAPH_FILE})")
    where = _where(path)
    if tarfile.is_tarfile(path):
        try:
            with tarfile.open(path) as archive:
                members = [m for m in archive.getmembers()
                           if m.isfile() and os.path.basename(m.name) == GRAPH_FILE]
                if not members:
                    raise WeightsError(f"{where}: the archive holds no {GRAPH_FILE}")
                data = archive.extractfile(members[0]).read()
        except (tarfile.TarError, EOFError, OSError) as e:
            raise WeightsError(f"{where}: damaged archive ({e})") from e
        where = f"{where} ({members[0].name})"
    else:
        with open(path, "rb") as f:
            data = f.read()
    graph_def = tf.compat.v1.GraphDef()
    try:
        graph_def.ParseFromString(data)
    except (DecodeError, RuntimeWarning, ValueError) as e:
        raise WeightsError(f"{where}: not a TensorFlow GraphDef ({GRAPH_FILE}): {e}") from e
    if not len(graph_def.node):
        raise WeightsError(f"{where}: not a TensorFlow GraphDef ({GRAPH_FILE}): no nodes")
    names = {node.name for node in graph_def.node}
    missing = [name for name in REQUIRED if name not in names]
    if missing:
        raise WeightsError(f"{where}: a GraphDef without the node(s) {', '.join(missing)} that "
                           f"improved-gan's inception score reads; not the 2015 Inception graph "
                           f"({GRAPH_FILE})")
    return graph_def


def _resize_attributes(graph_def):
    """What the file says about its resize: {"size": [h, w] or None, "align_corners",
    "half_pixel_centers"} (absent attributes: TF's default, false)."""
    nodes = {node.name: node for node in graph_def.node}
    node = nodes.get(RESIZE)
    if node is None or node.op != "ResizeBilinear":
        return {}
    size = None
    source = nodes.get(node.input[1].split(":")[0].lstrip("^")) if len(node.input) > 1 else None
    if source is not None and source.op == "Const":
        size = tf.make_ndarray(source.attr["value"].tensor).tolist()
    return {"size": size, "align_corners": bool(node.attr["align_corners"].b),
            "half_pixel_centers": bool(node.attr["half_pixel_centers"].b)}


def load_inception_graph(path):
    """A GraphInception from ``path`` (.pb or .tgz; see ``read_graph_def`` for the errors)."""
    graph_def = read_graph_def(path)

    def imported(images):
        pool, matmul = tf.compat.v1.import_graph_def(
            graph_def, input_map={INPUT: images}, return_elements=[POOL, LOGITS_MATMUL],
            name="inception_2015")
        weights = matmul.inputs[1]
        features = tf.reshape(pool, [-1, weights.shape[0]])  # improved-gan: squeeze(pool_3, [1, 2])
        return tf.nn.softmax(tf.matmul(features, weights)), features

    spec = tf.TensorSpec((None, None, None, 3), tf.float32)
    try:
        wrapped = tf.compat.v1.wrap_function(imported, [spec])
    except (ValueError, TypeError, tf.errors.OpError) as e:
        first = " ".join(str(e).split())[:300]
        raise WeightsError(f"{_where(path)}: the GraphDef cannot be imported with "
                           f"{INPUT} as a batch of images ({first})") from e
    graph = wrapped.graph
    function = wrapped.prune(graph.inputs[0], wrapped.outputs)
    num_classes, feature_dim = (int(t.shape[-1]) for t in wrapped.outputs)
    label = f"Inception 2015 graph ({os.path.basename(path)}, {num_classes} classes)"
    return GraphInception(function, label, num_classes, feature_dim, _resize_attributes(graph_def))


def _to_0_255(batch):
    """float32 0..255: uint8 as is (as improved-gan feeds image files); floats must be in
    [-1, 1] and are mapped by (x + 1) * 127.5."""
    if batch.dtype == np.uint8:
        return batch.astype(np.float32)
    return (_to_unit_range(batch) + 1.0) * 127.5


class GraphRunner:
    """Batched forward passes of a GraphInception, the interface of ``InceptionRunner``:
    ``predict(images) -> (probs (N, classes), features (N, 2048))`` as float64 arrays. The
    result does not depend on the batch size (improved-gan used 1) beyond float rounding."""

    def __init__(self, inception, batch_size=50, label=None):
        if batch_size < 1:
            raise ValueError(f"GraphRunner: batch_size must be >= 1, got {batch_size}")
        self.inception, self.batch_size = inception, batch_size
        self.label = label or inception.label

    def predict(self, images, progress=None):
        return predict_in_batches(lambda batch: self.inception.function(tf.convert_to_tensor(_to_0_255(batch))),
                                  images, self.batch_size, progress, "GraphRunner")
