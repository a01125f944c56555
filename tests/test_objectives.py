"""Every objective of 8.1 against values computed by hand."""
import numpy as np
import pytest

from models import objectives as obj


def f(x):
    return float(np.asarray(x))


A = np.array([[0.0, 1.0], [2.0, -1.0]], "float32")
B = np.array([[1.0, 1.0], [0.0, 0.0]], "float32")   # |A - B| = [1, 0, 2, 1] -> mean 1.0


def test_l1_is_the_mean_absolute_difference():
    assert f(obj.l1(A, B)) == pytest.approx(1.0)
    assert f(obj.l1(A, A)) == 0.0


def test_lsgan_terms_of_8_1():
    real = np.array([1.0, 0.0, 2.0], "float32")     # (r-1)^2 = 0, 1, 1 -> 2/3
    fake = np.array([0.5, -1.0, 0.0], "float32")    # f^2 = .25, 1, 0 -> 1.25/3
    assert f(obj.gan_real_term(real)) == pytest.approx(2 / 3)
    assert f(obj.gan_fake_term(fake)) == pytest.approx(1.25 / 3)
    assert f(obj.gan_discriminator_loss(real, fake, halve=False)) == pytest.approx(2 / 3 + 1.25 / 3)
    assert f(obj.gan_discriminator_loss(real, fake)) == pytest.approx(0.5 * (2 / 3 + 1.25 / 3))
    # G wants D(fake) = 1: (0.5-1)^2 + (-1-1)^2 + (0-1)^2 = .25 + 4 + 1
    assert f(obj.gan_generator_loss(fake)) == pytest.approx(5.25 / 3)


def test_reconstruction_8_2_and_cycle_objective_8_3():
    rec_a, rec_b = obj.reconstruction_terms(A, B, B, B + 3.0)
    assert (f(rec_a), f(rec_b)) == pytest.approx((1.0, 3.0))
    assert f(obj.cycle_objective(0.5, 0.25, f(rec_a) + f(rec_b), 10.0)) == pytest.approx(40.75)


def test_long_objective_8_6_by_hand():
    # L_GAN(G_AB^M, D_B) + L_GAN(G_BA^N, D_A) + lambda L_Rec over the whole chains: 0.5 + 0.25 + 10 * 4.
    # (That Long with M = N = 1 trains exactly as Vanilla is checked on real steps in test_train_step.)
    assert f(obj.long_objective(0.5, 0.25, 4.0, 10.0)) == pytest.approx(40.75)


def test_inner_8_9_and_nest_8_10_sum_over_every_inner_cycle():
    a, b = np.zeros((2, 2), "float32"), np.ones((2, 2), "float32")
    a_hats = [a + 1.0, a - 2.0]               # 1 + 2
    b_hats = [b, b + 0.5, b - 0.25]           # 0 + .5 + .25
    inner_a, inner_b = obj.inner_terms(a, a_hats, b, b_hats)
    assert (f(inner_a), f(inner_b)) == pytest.approx((3.0, 0.75))
    assert f(obj.nest_objective(0.5, 0.25, 3.75, 10.0)) == pytest.approx(38.25)


def test_similarity_8_11_and_identity():
    assert f(obj.similarity_loss(A, B)) == pytest.approx(1.0)
    idt_a, idt_b = obj.identity_terms(A, A + 0.5, B, B)
    assert (f(idt_a), f(idt_b)) == pytest.approx((0.5, 0.0))
