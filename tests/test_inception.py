"""Inception loader and runner: the real loading path on a random InceptionV3 saved to a temporary
file (75 px, the smallest InceptionV3 input), and every error path (nothing is downloaded)."""
import keras
import numpy as np
import pytest
import tensorflow as tf

from evaluation.inception import InceptionRunner, WeightsError, load_inception
from models import pretrained

SIZE = 75


@pytest.fixture(scope="module")
def saved_inception(tmp_path_factory):
    """A randomly initialised InceptionV3 (with top) and the .weights.h5 file it was saved to."""
    model = keras.applications.InceptionV3(include_top=True, weights=None,
                                           input_shape=(SIZE, SIZE, 3))
    path = tmp_path_factory.mktemp("inception") / "random_inception_v3.weights.h5"
    model.save_weights(path)
    return model, str(path)


def test_loads_a_weights_file_and_gives_probs_and_features_in_one_pass(saved_inception):
    model, path = saved_inception
    inception = load_inception(path, input_size=SIZE)
    assert inception.label == "keras InceptionV3 (random_inception_v3.weights.h5, 1000 classes)"
    runner = InceptionRunner(inception, batch_size=2)
    assert runner.label == inception.label
    images = np.random.default_rng(0).integers(0, 256, (3, 40, 48, 3)).astype(np.uint8)
    seen = []
    probs, features = runner.predict(images, progress=seen.append)
    assert probs.shape == (3, 1000) and features.shape == (3, 2048) and seen == [2, 3]
    np.testing.assert_allclose(probs.sum(1), 1.0, atol=1e-5)
    # the loaded network is the saved one: same outputs as the original on the same preprocessing
    x = tf.image.resize(images.astype(np.float32) / 127.5 - 1.0, (SIZE, SIZE))
    np.testing.assert_allclose(probs, np.asarray(model(x, training=False)), rtol=1e-4, atol=1e-7)
    pool = keras.Model(model.input, model.get_layer("avg_pool").output)
    np.testing.assert_allclose(features, np.asarray(pool(x)), rtol=1e-4, atol=1e-6)
    # [-1, 1] floats and an iterable of odd-sized chunks give the same answer as one uint8 array
    unit = images.astype(np.float32) / 127.5 - 1.0
    chunks = (c for c in (unit[:1], unit[1:]))
    probs2, features2 = runner.predict(chunks)
    np.testing.assert_allclose(probs2, probs, rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(features2, features, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match=r"float images must lie in \[-1, 1\]"):
        runner.predict(images.astype(np.float32))
    with pytest.raises(ValueError, match=r"\(N, H, W, 3\)"):
        runner.predict(images[..., :1])
    with pytest.raises(ValueError, match="no images"):
        runner.predict([])


def test_missing_wrong_kind_and_corrupt_files_name_the_path(tmp_path):
    missing = tmp_path / "nope.weights.h5"
    with pytest.raises(WeightsError, match=f"--inception_weights={missing}: file not found"):
        load_inception(str(missing))
    text = tmp_path / "weights.txt"
    text.write_text("hello")
    with pytest.raises(WeightsError, match=r"weights.txt: expected a Keras weights or model file"):
        load_inception(str(text))
    for name in ("garbage.weights.h5", "garbage.h5", "garbage.keras"):
        garbage = tmp_path / name
        garbage.write_bytes(b"\x00not a weights file" * 50)
        with pytest.raises(WeightsError, match=f"{garbage}: not .*corrupt"):
            load_inception(str(garbage))
    with pytest.raises(ValueError, match="input_size 64 < 75"):
        load_inception(str(missing), input_size=64)


def test_imagenet_offline_says_how_to_provide_the_file(monkeypatch):
    def offline(*args, **kwargs):
        raise Exception("URL fetch failure on https://storage.googleapis.com/...: None -- "
                        "[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(keras.utils, "get_file", offline)
    with pytest.raises(WeightsError) as error:
        load_inception("imagenet")
    message = str(error.value)
    assert "\n" not in message
    assert "--inception_weights=PATH" in message
    assert pretrained.INCEPTION_V3_IMAGENET.origin in message
    assert "inception_v3_weights_tf_dim_ordering_tf_kernels.h5" in message
    assert "Temporary failure in name resolution" in message
    assert isinstance(error.value, ValueError)


def test_weights_of_another_network_are_refused(tmp_path):
    other = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, name="dense")], name="tiny")
    path = tmp_path / "tiny.weights.h5"
    other.save_weights(path)
    target = keras.Sequential([keras.Input((4,)), keras.layers.Dense(5)], name="target")
    with pytest.raises(WeightsError, match=f"--some_flag={path}: cannot load it into target"):
        pretrained.load_weights_file(target, path, "some_flag")
