"""The CycleGAN family of thesis 8.1: GAN, Vanilla, Long (8.4-8.6) and Nest (8.7-8.11).

Code <-> paper symbols (written once, used everywhere):

    a, b                 real images of domains A and B
    nets.a2b[m-1]        G_AB^m, m = 1..M          nets.b2a[n-1]   G_BA^n, n = 1..N
    nets.d_a, nets.d_b   D_A, D_B
    a2b_m                G_AB^m(a) (8.4), a2b = a2b_M the final translation
    b2a_n                G_BA^n(b) (8.5), b2a = b2a_N
    a2b2a_n              the n-th output of the B->A chain run on a2b; a2b2a = a2b2a_N = a_hat (8.2)
    b2a2b_m              likewise for b; b2a2b = b_hat
    a_hat_m, b_hat_n     inner-cycle reconstructions (8.8); a_hat_M = a2b2a, b_hat_N = b2a2b

GAN is the baseline of Table 8.1: both directions trained with the adversarial loss alone. Vanilla is
M = N = 1 with (8.3); Long chains M and N generators with (8.6); Nest adds the inner cycles (8.9,
8.10) and the similarity loss (8.11).

Inner cycles when M != N (the thesis writes them for M = N only): the m-th inner cycle of A runs
through G_AB^1..G_AB^m and then the last k(m) = ceil(m N / M) generators of the B->A chain. For
M = N this is the thesis's G_BA^{N-m+1}..G_BA^N exactly; for any M, N the m = M cycle is the outer
one, and each cycle uses a share of the return chain equal to the share of the forward chain it used.
"""
import dataclasses

import keras

from models import objectives as obj
from models.discriminator import patchgan_discriminator
from models.generator import resnet_generator

VARIANTS = ("gan", "vanilla", "long", "nest")


@dataclasses.dataclass(frozen=True)
class CycleNets:
    """All networks of one model. With shared weights a chain repeats one network object."""

    a2b: tuple
    b2a: tuple
    d_a: keras.Model
    d_b: keras.Model

    def generators(self):
        """Distinct generator networks by name (a shared chain contributes one)."""
        return _unique({m.name: m for m in (*self.a2b, *self.b2a)})

    def discriminators(self):
        return {"d_a": self.d_a, "d_b": self.d_b}

    def networks(self):
        return {**self.generators(), **self.discriminators()}

    @property
    def generator_variables(self):
        return [v for net in self.generators().values() for v in net.trainable_variables]

    @property
    def discriminator_variables(self):
        return [v for net in self.discriminators().values() for v in net.trainable_variables]


def _unique(named):
    seen, out = set(), {}
    for name, net in named.items():
        if id(net) not in seen:
            seen.add(id(net))
            out[name] = net
    return out


def build_cycle_nets(*, M=1, N=1, ngf=64, ndf=64, n_blocks=9, share_weights=False, channels=3,
                     seed=0):
    """M generators A->B, N generators B->A (all the same architecture, thesis 8.1.2) and D_A, D_B.

    ``share_weights`` makes each chain apply one generator M (or N) times, the weight sharing the
    thesis proposes as future work: generator parameters drop from (M + N) to 2 networks.
    Each network gets its own deterministic initialisation seed derived from ``seed``.
    """
    if M < 1 or N < 1:
        raise ValueError(f"build_cycle_nets needs M >= 1 and N >= 1, got M={M}, N={N}")

    def gen(name, index):
        return resnet_generator(ngf, n_blocks, channels, channels, seed=seed * 1000 + index, name=name)

    if share_weights:
        a2b = (gen("g_ab", 1),) * M
        b2a = (gen("g_ba", 101),) * N
    else:
        a2b = tuple(gen(f"g_ab_{m}", m) for m in range(1, M + 1))
        b2a = tuple(gen(f"g_ba_{n}", 100 + n) for n in range(1, N + 1))
    d_a = patchgan_discriminator(ndf, 3, channels, seed=seed * 1000 + 201, name="d_a")
    d_b = patchgan_discriminator(ndf, 3, channels, seed=seed * 1000 + 202, name="d_b")
    return CycleNets(a2b=a2b, b2a=b2a, d_a=d_a, d_b=d_b)


def apply_chain(chain, x, training=False):
    """[G^1(x), ..., G^k(x)], (8.4)/(8.5): each generator takes the previous one's output."""
    outputs = []
    for generator in chain:
        x = generator(x, training=training)
        outputs.append(x)
    return outputs


def inner_depth(m, M, N):
    """Number of return-chain generators in the m-th inner cycle: ceil(m N / M) (see module doc)."""
    return -(-m * N // M)


def inner_reconstructions(forward_outputs, return_chain, outer, training=False):
    """[x_hat_1, ..., x_hat_M] of (8.7)-(8.8) for one domain.

    x_hat_m = G^N(...G^{N-k+1}(forward_outputs[m-1])) with k = inner_depth(m, M, N) and G the
    return chain; the last one is the already computed outer reconstruction ``outer``.
    """
    M, N = len(forward_outputs), len(return_chain)
    hats = [apply_chain(return_chain[N - inner_depth(m, M, N):], x_m, training)[-1]
            for m, x_m in enumerate(forward_outputs[:-1], start=1)]
    return hats + [outer]


def translate_paths(nets, a, b, variant, training=False):
    """Every image the variant's objective needs, keyed by domain path (see module doc)."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r}; expected one of {VARIANTS}")
    paths = {}
    a2b = apply_chain(nets.a2b, a, training)
    b2a = apply_chain(nets.b2a, b, training)
    paths.update({f"a2b_{m}": y for m, y in enumerate(a2b, start=1)})
    paths.update({f"b2a_{n}": y for n, y in enumerate(b2a, start=1)})
    paths["a2b"], paths["b2a"] = a2b[-1], b2a[-1]
    if variant == "gan":
        return paths
    a2b2a = apply_chain(nets.b2a, paths["a2b"], training)
    b2a2b = apply_chain(nets.a2b, paths["b2a"], training)
    paths.update({f"a2b2a_{n}": y for n, y in enumerate(a2b2a, start=1)})
    paths.update({f"b2a2b_{m}": y for m, y in enumerate(b2a2b, start=1)})
    paths["a2b2a"], paths["b2a2b"] = a2b2a[-1], b2a2b[-1]
    if variant == "nest":
        a_hats = inner_reconstructions(a2b, nets.b2a, paths["a2b2a"], training)
        b_hats = inner_reconstructions(b2a, nets.a2b, paths["b2a2b"], training)
        paths.update({f"a_hat_{m}": y for m, y in enumerate(a_hats, start=1)})
        paths.update({f"b_hat_{n}": y for n, y in enumerate(b_hats, start=1)})
    return paths


def generator_losses(nets, a, b, *, variant, lambda_cycle=10.0, lambda_sim=1.0,
                     lambda_identity=0.0, training=True):
    """Generator objective of ``variant``: (terms, paths) with terms['g/total'] the loss to minimise.

    gan: L_GAN both ways; vanilla: (8.3); long: (8.6); nest: (8.10) + lambda_sim (8.11).
    ``lambda_identity`` > 0 adds CycleGAN's identity loss weighted lambda_identity * lambda_cycle.
    """
    paths = translate_paths(nets, a, b, variant, training)
    adv_b = obj.gan_generator_loss(nets.d_b(paths["a2b"], training=training))
    adv_a = obj.gan_generator_loss(nets.d_a(paths["b2a"], training=training))
    terms = {"g/adv_a": adv_a, "g/adv_b": adv_b}
    if variant == "gan":
        total = adv_b + adv_a
    else:
        cycle_a, cycle_b = obj.reconstruction_terms(a, paths["a2b2a"], b, paths["b2a2b"])
        terms.update({"g/cycle_a": cycle_a, "g/cycle_b": cycle_b})
        if variant == "vanilla":
            total = obj.cycle_objective(adv_b, adv_a, cycle_a + cycle_b, lambda_cycle)
        elif variant == "long":
            total = obj.long_objective(adv_b, adv_a, cycle_a + cycle_b, lambda_cycle)
        else:
            a_hats = [paths[f"a_hat_{m}"] for m in range(1, len(nets.a2b) + 1)]
            b_hats = [paths[f"b_hat_{n}"] for n in range(1, len(nets.b2a) + 1)]
            inner_a, inner_b = obj.inner_terms(a, a_hats, b, b_hats)
            sim = obj.similarity_loss(paths["a2b_1"], paths["b2a_1"])
            terms.update({"g/inner_a": inner_a, "g/inner_b": inner_b, "g/sim": sim})
            total = obj.nest_objective(adv_b, adv_a, inner_a + inner_b, lambda_cycle) + lambda_sim * sim
    if lambda_identity > 0:
        b2a_of_a = apply_chain(nets.b2a, a, training)[-1]
        a2b_of_b = apply_chain(nets.a2b, b, training)[-1]
        idt_a, idt_b = obj.identity_terms(a, b2a_of_a, b, a2b_of_b)
        terms.update({"g/identity_a": idt_a, "g/identity_b": idt_b})
        total = total + lambda_identity * lambda_cycle * (idt_a + idt_b)
    terms["g/total"] = total
    return terms, paths


def discriminator_losses(nets, a, b, fake_a, fake_b, *, halve=True, training=True):
    """(8.1) for D_A (real a vs fake_a) and D_B (real b vs fake_b); terms['d/total'] is their sum.

    The logged real/fake terms are the unhalved parts of (8.1).
    """
    real_a_logits, fake_a_logits = nets.d_a(a, training=training), nets.d_a(fake_a, training=training)
    real_b_logits, fake_b_logits = nets.d_b(b, training=training), nets.d_b(fake_b, training=training)
    terms = {
        "d/real_a": obj.gan_real_term(real_a_logits), "d/fake_a": obj.gan_fake_term(fake_a_logits),
        "d/real_b": obj.gan_real_term(real_b_logits), "d/fake_b": obj.gan_fake_term(fake_b_logits),
    }
    terms["d/total"] = (obj.gan_discriminator_loss(real_a_logits, fake_a_logits, halve)
                        + obj.gan_discriminator_loss(real_b_logits, fake_b_logits, halve))
    return terms
