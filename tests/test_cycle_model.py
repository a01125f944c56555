"""Paths and objectives of the CycleGAN family, including the thesis's own claims."""
import numpy as np
import pytest

from models import cycle
from models.cycle import CycleNets, build_cycle_nets, generator_losses, inner_depth, translate_paths


class Symbolic:
    """A stand-in generator that writes its name around its input, exposing composition order."""

    def __init__(self, name):
        self.name = name

    def __call__(self, x, training=False):
        return f"{self.name}({x})"


def symbolic_nets(M, N):
    return CycleNets(a2b=tuple(Symbolic(f"AB{m}") for m in range(1, M + 1)),
                     b2a=tuple(Symbolic(f"BA{n}") for n in range(1, N + 1)), d_a=None, d_b=None)


def test_long_chains_follow_8_4_and_8_5():
    p = translate_paths(symbolic_nets(2, 3), "a", "b", "long")
    assert p["a2b_1"] == "AB1(a)" and p["a2b"] == "AB2(AB1(a))"
    assert p["b2a"] == "BA3(BA2(BA1(b)))"
    assert p["a2b2a"] == "BA3(BA2(BA1(AB2(AB1(a)))))"
    assert p["b2a2b"] == "AB2(AB1(BA3(BA2(BA1(b)))))"
    assert "a_hat_1" not in p


def test_nest_inner_cycles_use_the_thesis_generator_indices():
    # M = N = 2: the m-th inner cycle is G_AB^1..G_AB^m then G_BA^{N-m+1}..G_BA^N (8.7, 8.8)
    p = translate_paths(symbolic_nets(2, 2), "a", "b", "nest")
    assert p["a_hat_1"] == "BA2(AB1(a))"
    assert p["a_hat_2"] == p["a2b2a"] == "BA2(BA1(AB2(AB1(a))))"
    assert p["b_hat_1"] == "AB2(BA1(b))"
    assert p["b_hat_2"] == p["b2a2b"]
    p3 = translate_paths(symbolic_nets(3, 3), "a", "b", "nest")
    assert p3["a_hat_2"] == "BA3(BA2(AB2(AB1(a))))"


def test_nest_inner_cycles_when_m_differs_from_n():
    assert [inner_depth(m, 3, 1) for m in (1, 2, 3)] == [1, 1, 1]
    assert [inner_depth(m, 2, 3) for m in (1, 2)] == [2, 3]
    assert [inner_depth(m, 2, 2) for m in (1, 2)] == [1, 2]
    p = translate_paths(symbolic_nets(2, 3), "a", "b", "nest")
    assert p["a_hat_1"] == "BA3(BA2(AB1(a)))"          # ceil(1 * 3 / 2) = 2 return generators
    assert p["b_hat_1"] == "AB2(BA1(b))"               # ceil(1 * 2 / 3) = 1
    assert p["b_hat_2"] == "AB2(AB1(BA2(BA1(b))))"     # ceil(2 * 2 / 3) = 2
    assert p["b_hat_3"] == p["b2a2b"]


def test_gan_variant_computes_no_cycle():
    p = translate_paths(symbolic_nets(1, 1), "a", "b", "gan")
    assert set(p) == {"a2b_1", "b2a_1", "a2b", "b2a"}
    with pytest.raises(ValueError, match="unknown variant"):
        translate_paths(symbolic_nets(1, 1), "a", "b", "cyclic")


@pytest.fixture(scope="module")
def tiny_nets():
    rng = np.random.default_rng(0)
    a, b = (rng.uniform(-1, 1, (1, 32, 32, 3)).astype("float32") for _ in range(2))
    return build_cycle_nets(M=1, N=1, ngf=8, ndf=8, n_blocks=1, seed=5), a, b


def _values(terms):
    return {k: float(np.asarray(v)) for k, v in terms.items()}


def test_long_with_one_generator_each_way_is_vanilla(tiny_nets):
    nets, a, b = tiny_nets
    vanilla = _values(generator_losses(nets, a, b, variant="vanilla")[0])
    long = _values(generator_losses(nets, a, b, variant="long")[0])
    assert vanilla == long
    assert set(vanilla) == {"g/adv_a", "g/adv_b", "g/cycle_a", "g/cycle_b", "g/total"}


def test_objective_totals_combine_the_logged_terms(tiny_nets):
    nets, a, b = tiny_nets
    v = _values(generator_losses(nets, a, b, variant="vanilla", lambda_cycle=7.0)[0])
    expected = v["g/adv_a"] + v["g/adv_b"] + 7.0 * (v["g/cycle_a"] + v["g/cycle_b"])
    assert v["g/total"] == pytest.approx(expected, rel=1e-6)
    g = _values(generator_losses(nets, a, b, variant="gan")[0])
    assert set(g) == {"g/adv_a", "g/adv_b", "g/total"}
    assert g["g/total"] == pytest.approx(g["g/adv_a"] + g["g/adv_b"])
    n = _values(generator_losses(nets, a, b, variant="nest", lambda_cycle=10.0, lambda_sim=2.0)[0])
    # M = N = 1: the only inner cycle is the outer one
    assert n["g/inner_a"] == pytest.approx(n["g/cycle_a"]) and n["g/inner_b"] == pytest.approx(n["g/cycle_b"])
    assert n["g/total"] == pytest.approx(n["g/adv_a"] + n["g/adv_b"] + 10.0 * (n["g/inner_a"] + n["g/inner_b"])
                                         + 2.0 * n["g/sim"], rel=1e-6)
    i = _values(generator_losses(nets, a, b, variant="vanilla", lambda_identity=0.5)[0])
    assert i["g/total"] == pytest.approx(v["g/adv_a"] + v["g/adv_b"] + 10.0 * (v["g/cycle_a"] + v["g/cycle_b"])
                                         + 5.0 * (i["g/identity_a"] + i["g/identity_b"]), rel=1e-5)


def test_discriminator_losses_sum_both_players(tiny_nets):
    nets, a, b = tiny_nets
    t = _values(cycle.discriminator_losses(nets, a, b, b, a, halve=True))
    expected = 0.5 * (t["d/real_a"] + t["d/fake_a"] + t["d/real_b"] + t["d/fake_b"])
    assert t["d/total"] == pytest.approx(expected, rel=1e-6)
    full = _values(cycle.discriminator_losses(nets, a, b, b, a, halve=False))
    assert full["d/total"] == pytest.approx(2 * t["d/total"], rel=1e-6)
