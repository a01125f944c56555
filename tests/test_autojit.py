"""--jit_compile=auto on CPUs decides by measuring: the decision logic with stub timings (nothing is
timed here), the cache, the state put back after measuring; the CPU description and peak."""
import json

from absl import flags as absl_flags
import numpy as np
import pytest
import tensorflow as tf

from training import autojit, cpu

CPUINFO = """processor\t: 0
vendor_id\t: AuthenticAMD
cpu family\t: 25
model\t\t: 17
model name\t: AMD EPYC
cpu MHz\t\t: 2500.000
flags\t\t: fpu sse sse2 avx fma avx2 {extra}

processor\t: 1
model name\t: ignored second processor
"""


def _decide(tmp_path, measure, remaining=1000, key="k"):
    return autojit.decide(measure, remaining=remaining, key=key,
                          cache_file=str(tmp_path / "cache.json"), machine="CPU X")


def test_the_faster_path_is_chosen_and_cached(tmp_path):
    xla = _decide(tmp_path, lambda: (0.30, 0.20), key="fast-xla")
    plain = _decide(tmp_path, lambda: (0.20, 0.30), key="fast-tf")
    assert xla["xla"] is True and plain["xla"] is False
    assert xla["tf_ms_per_step"] == 300.0 and xla["xla_ms_per_step"] == 200.0
    cache = json.loads((tmp_path / "cache.json").read_text())
    assert cache["fast-xla"]["xla"] is True and cache["fast-tf"]["xla"] is False
    assert cache["fast-xla"]["cpu"] == "CPU X"
    text = autojit.describe(xla)
    assert "XLA (TensorFlow's kernels 300.0 ms/step, XLA 200.0 ms/step on CPU X; measured)" in text


def test_a_cached_decision_is_not_measured_again(tmp_path):
    _decide(tmp_path, lambda: (0.30, 0.20))

    def never():
        raise AssertionError("measured again")

    again = _decide(tmp_path, never)
    assert again["xla"] is True and again["reason"].startswith("cached in ")
    assert _decide(tmp_path, lambda: (0.1, 0.2), key="other shape")["xla"] is False


def test_a_short_run_is_not_measured(tmp_path):
    def never():
        raise AssertionError("measured a short run")

    short = _decide(tmp_path, never, remaining=autojit.MEASURE_MIN_STEPS - 1)
    assert short["xla"] is False and "fewer than" in short["reason"]
    assert not (tmp_path / "cache.json").exists()


def test_a_corrupt_cache_is_measured_and_rewritten(tmp_path):
    (tmp_path / "cache.json").write_text('{"k": {"xla": tr')
    assert _decide(tmp_path, lambda: (0.30, 0.20))["reason"] == "measured"
    assert json.loads((tmp_path / "cache.json").read_text())["k"]["xla"] is True


def test_the_shape_key_separates_machines_and_shapes():
    a = autojit.shape_key("CPU X", [[((3, 3, 3, 8), "float32")], [((1, 32, 32, 3), "float32")]])
    assert a == autojit.shape_key("CPU X", [[((3, 3, 3, 8), "float32")], [((1, 32, 32, 3), "float32")]])
    assert a != autojit.shape_key("CPU Y", [[((3, 3, 3, 8), "float32")], [((1, 32, 32, 3), "float32")]])
    assert a != autojit.shape_key("CPU X", [[((3, 3, 3, 8), "float32")], [((1, 64, 64, 3), "float32")]])
    two = [((8,), "float32"), ((3, 3, 3, 8), "float32")]
    assert autojit.shape_key("CPU X", [two, []]) == autojit.shape_key("CPU X", [two[::-1], []])


def test_measuring_puts_the_state_back_and_the_chosen_step_runs_once(tmp_path, monkeypatch):
    v = tf.Variable([1.0, 2.0])

    def step_fn(batch):
        v.assign_add(batch["x"])
        return {"sum": tf.reduce_sum(v)}

    def stub_time_both(plain, xla, batch):  # runs both as a measurement would, times nothing
        for fn in (plain, xla, plain, xla):
            fn(batch)
        return 0.5, 0.25

    monkeypatch.setattr(autojit, "_time_both", stub_time_both)
    step = autojit.MeasuredJit(step_fn, cache_file=str(tmp_path / "cache.json"))
    step.remaining = autojit.MEASURE_MIN_STEPS
    out = step({"x": tf.constant([10.0, 10.0])})
    assert step.decision["xla"] is True and step.decision["reason"] == "measured"
    np.testing.assert_array_equal(v.numpy(), [11.0, 12.0])  # one step on the restored state
    assert float(out["sum"]) == 23.0


def test_jit_compile_help_shows_the_real_default():
    from flags.common import define_train_flags

    fv = absl_flags.FlagValues()
    define_train_flags(fv, workdir="w", batch_size=1, epochs=1)
    assert fv["jit_compile"].default_as_str == "'auto'"
    assert "slower" not in fv["jit_compile"].help and "faster" in fv["jit_compile"].help


@pytest.mark.parametrize("extra, lanes, isa", [("avx512f avx512_bf16", 16, "AVX-512, bf16"),
                                               ("", 8, "AVX2+FMA")])
def test_the_cpu_model_and_its_estimated_peak(tmp_path, extra, lanes, isa):
    info = tmp_path / "cpuinfo"
    info.write_text(CPUINFO.format(extra=extra))
    assert cpu.cpu_model(str(info)) == "AMD EPYC (family 25 model 17)"
    peak, how = cpu.fp32_peak(str(info), n_cores=2)
    assert peak == pytest.approx(2 * 2.5e9 * lanes * 2 * 2)  # 157/320 GFLOP/s class figures
    assert how.startswith("estimate: 2 cores x 2.50 GHz") and isa in how
    (tmp_path / "empty").write_text("")
    assert cpu.fp32_peak(str(tmp_path / "empty"))[0] is None
