"""The official PyTorch CycleGAN train step (junyanz/pytorch-CycleGAN-and-pix2pix), compactly.

The speed reference of ``python -m training.benchmark --reference=torch``, and a second, independent
statement of our architecture: ``tests/test_torch_reference.py`` ports our Keras weights into these
modules and checks that both compute the same images and losses.

Kept from the official code: ResnetGenerator (reflection pads, InstanceNorm2d(affine=False), biased
convs, ConvTranspose2d(padding=1, output_padding=1), tanh), NLayerDiscriminator (n_layers=3), N(0,
0.02) weights and zero biases, the LSGAN MSE loss, the discriminator loss times 0.5, L1 cycle loss
with lambda 10, one Adam(2e-4, betas (0.5, 0.999)) for all generators and one for both
discriminators, discriminators frozen during the generator update, the Python image pool, NCHW
float32 in eager mode. Added: Long and Nest by chaining generators exactly as ``models/cycle.py``
does (same inner-cycle rule for M != N), and ``lambda_identity`` defaulting to ours (0: the thesis
has no identity loss; the official default 0.5 costs two more generator passes per step).
Changed for the benchmark only: cuDNN autotuning on, and an optional bfloat16 autocast.

torch is imported here at module level; the project imports this module only when torch is asked
for (``--reference=torch``, the torch tests), so torch is an optional dependency (extra ``bench``).
"""
import itertools
import random

import numpy as np
import torch
from torch import nn

from models.cycle import inner_depth


class ResnetBlock(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.conv_block = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3), nn.InstanceNorm2d(dim), nn.ReLU(True),
            nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3), nn.InstanceNorm2d(dim))

    def forward(self, x):
        return x + self.conv_block(x)


def resnet_generator(ngf=64, n_blocks=9, channels=3):
    """The official ResnetGenerator with instance norm and no dropout, as one nn.Sequential."""
    layers = [nn.ReflectionPad2d(3), nn.Conv2d(channels, ngf, 7), nn.InstanceNorm2d(ngf), nn.ReLU(True)]
    for mult in (1, 2):
        layers += [nn.Conv2d(ngf * mult, ngf * mult * 2, 3, stride=2, padding=1),
                   nn.InstanceNorm2d(ngf * mult * 2), nn.ReLU(True)]
    layers += [ResnetBlock(ngf * 4) for _ in range(n_blocks)]
    for mult in (4, 2):
        layers += [nn.ConvTranspose2d(ngf * mult, ngf * mult // 2, 3, stride=2, padding=1,
                                      output_padding=1),
                   nn.InstanceNorm2d(ngf * mult // 2), nn.ReLU(True)]
    layers += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, channels, 7), nn.Tanh()]
    return nn.Sequential(*layers)


def nlayer_discriminator(ndf=64, n_layers=3, channels=3):
    """The official NLayerDiscriminator (70x70 PatchGAN) with instance norm."""
    layers = [nn.Conv2d(channels, ndf, 4, stride=2, padding=1), nn.LeakyReLU(0.2, True)]
    mult = 1
    for n in range(1, n_layers + 1):
        prev, mult = mult, min(2 ** n, 8)
        layers += [nn.Conv2d(ndf * prev, ndf * mult, 4, stride=2 if n < n_layers else 1, padding=1),
                   nn.InstanceNorm2d(ndf * mult), nn.LeakyReLU(0.2, True)]
    layers += [nn.Conv2d(ndf * mult, 1, 4, stride=1, padding=1)]
    return nn.Sequential(*layers)


def init_weights(net, gain=0.02):
    """The official 'normal' init: conv weights N(0, gain), biases 0."""
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, gain)
            nn.init.zeros_(m.bias)
    return net


def load_keras_weights(net, weights):
    """Copies a Keras network's ``get_weights()`` (kernel, bias per conv, in layer order) into
    ``net``. Conv2D kernels are (kh, kw, in, out) in Keras and (out, in, kh, kw) in torch;
    Conv2DTranspose kernels (kh, kw, out, in) and (in, out, kh, kw): one transpose serves both."""
    convs = [m for m in net.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
    if len(weights) != 2 * len(convs):
        raise ValueError(f"{len(weights)} Keras weights for {len(convs)} torch convs (kernel and bias each)")
    with torch.no_grad():
        for conv, kernel, bias in zip(convs, weights[::2], weights[1::2]):
            kernel = torch.from_numpy(np.ascontiguousarray(np.transpose(kernel, (3, 2, 0, 1))))
            if kernel.shape != conv.weight.shape or tuple(bias.shape) != tuple(conv.bias.shape):
                raise ValueError(f"Keras kernel {tuple(kernel.shape)} does not fit {conv}")
            conv.weight.copy_(kernel)
            conv.bias.copy_(torch.from_numpy(bias))
    return net


class ImagePool:
    """The official image buffer: fill, then with probability 1/2 swap with a random stored image."""

    def __init__(self, pool_size, rng):
        self.pool_size, self.rng, self.images = pool_size, rng, []

    def query(self, images):
        if self.pool_size == 0:
            return images
        out = []
        for image in images.detach():
            image = image.unsqueeze(0)
            if len(self.images) < self.pool_size:
                self.images.append(image)
                out.append(image)
            elif self.rng.uniform(0, 1) > 0.5:
                index = self.rng.randint(0, self.pool_size - 1)
                out.append(self.images[index].clone())
                self.images[index] = image
            else:
                out.append(image)
        return torch.cat(out, 0)


def _chain(nets, x):
    outputs = []
    for net in nets:
        x = net(x)
        outputs.append(x)
    return outputs


class CycleReference:
    """Networks, optimisers, pools and the eager train step of one CycleGAN-family model.

    ``variant``: gan, vanilla, long or nest; M, N generators along A->B and B->A (independent
    networks; ``share_weights`` repeats one per chain). Names of networks and loss terms follow
    ``models/cycle.py`` (D_B judges B; the official code calls it netD_A).
    """

    def __init__(self, variant="vanilla", M=1, N=1, ngf=64, ndf=64, n_blocks=9, share_weights=False,
                 lambda_cycle=10.0, lambda_sim=1.0, lambda_identity=0.0, pool_size=50, lr=2e-4,
                 betas=(0.5, 0.999), device="cpu", precision="float32", seed=0):
        if variant not in ("gan", "vanilla", "long", "nest"):
            raise ValueError(f"unknown variant {variant!r}")
        if precision not in ("float32", "bfloat16"):
            raise ValueError(f"precision must be float32 or bfloat16, got {precision!r}")
        torch.manual_seed(seed)
        self.device = torch.device(device)
        self.variant, self.precision = variant, precision
        self.lambdas = dict(cycle=lambda_cycle, sim=lambda_sim, identity=lambda_identity)

        def gens(count):
            if share_weights:
                return [init_weights(resnet_generator(ngf, n_blocks)).to(self.device)] * count
            return [init_weights(resnet_generator(ngf, n_blocks)).to(self.device) for _ in range(count)]

        self.a2b, self.b2a = gens(M), gens(N)
        self.d_a = init_weights(nlayer_discriminator(ndf)).to(self.device)
        self.d_b = init_weights(nlayer_discriminator(ndf)).to(self.device)
        g_params = {id(p): p for net in self.a2b + self.b2a for p in net.parameters()}
        self.g_optimizer = torch.optim.Adam(list(g_params.values()), lr=lr, betas=betas)
        self.d_optimizer = torch.optim.Adam(
            itertools.chain(self.d_a.parameters(), self.d_b.parameters()), lr=lr, betas=betas)
        rng = random.Random(seed)
        self.pool_a, self.pool_b = ImagePool(pool_size, rng), ImagePool(pool_size, rng)
        if self.device.type == "cuda":
            torch.backends.cudnn.benchmark = True

    def _autocast(self):
        return torch.autocast(self.device.type, dtype=torch.bfloat16,
                              enabled=self.precision == "bfloat16")

    def generator_terms(self, a, b):
        """(terms, paths) as ``models.cycle.generator_losses`` names them; NCHW tensors."""
        mse, l1, lam = nn.functional.mse_loss, nn.functional.l1_loss, self.lambdas
        a2b, b2a = _chain(self.a2b, a), _chain(self.b2a, b)
        paths = {"a2b": a2b[-1], "b2a": b2a[-1], "a2b_1": a2b[0], "b2a_1": b2a[0]}
        pred_b, pred_a = self.d_b(a2b[-1]), self.d_a(b2a[-1])
        terms = {"g/adv_b": mse(pred_b, torch.ones_like(pred_b)),
                 "g/adv_a": mse(pred_a, torch.ones_like(pred_a))}
        total = terms["g/adv_b"] + terms["g/adv_a"]
        if self.variant != "gan":
            paths["a2b2a"], paths["b2a2b"] = _chain(self.b2a, a2b[-1])[-1], _chain(self.a2b, b2a[-1])[-1]
            terms["g/cycle_a"], terms["g/cycle_b"] = l1(paths["a2b2a"], a), l1(paths["b2a2b"], b)
            if self.variant == "nest":
                inner_a = self._inner(a2b, self.b2a, paths["a2b2a"], a)
                inner_b = self._inner(b2a, self.a2b, paths["b2a2b"], b)
                terms.update({"g/inner_a": inner_a, "g/inner_b": inner_b,
                              "g/sim": l1(a2b[0], b2a[0])})
                total = total + lam["cycle"] * (inner_a + inner_b) + lam["sim"] * terms["g/sim"]
            else:
                total = total + lam["cycle"] * (terms["g/cycle_a"] + terms["g/cycle_b"])
        if lam["identity"] > 0:
            terms["g/identity_a"] = l1(_chain(self.b2a, a)[-1], a)
            terms["g/identity_b"] = l1(_chain(self.a2b, b)[-1], b)
            total = total + lam["identity"] * lam["cycle"] * (terms["g/identity_a"] + terms["g/identity_b"])
        terms["g/total"] = total
        return terms, paths

    @staticmethod
    def _inner(forward, return_chain, outer, x):
        M, N = len(forward), len(return_chain)
        hats = [_chain(return_chain[N - inner_depth(m, M, N):], y)[-1]
                for m, y in enumerate(forward[:-1], start=1)]
        return sum(nn.functional.l1_loss(h, x) for h in hats + [outer])

    def discriminator_terms(self, a, b, fake_a, fake_b):
        """The official backward_D_basic for D_A and D_B, summed; halved as the official code."""
        mse, terms = nn.functional.mse_loss, {}
        for name, net, real, fake in (("a", self.d_a, a, fake_a), ("b", self.d_b, b, fake_b)):
            pred_real, pred_fake = net(real), net(fake.detach())
            terms[f"d/real_{name}"] = mse(pred_real, torch.ones_like(pred_real))
            terms[f"d/fake_{name}"] = mse(pred_fake, torch.zeros_like(pred_fake))
        terms["d/total"] = 0.5 * sum(terms.values())
        return terms

    def step(self, a, b):
        """One official optimize_parameters(): generators, then discriminators on pooled fakes.
        Returns the loss terms as (unsynchronised) tensors."""
        d_params = list(self.d_a.parameters()) + list(self.d_b.parameters())
        for p in d_params:
            p.requires_grad_(False)
        self.g_optimizer.zero_grad(set_to_none=True)
        with self._autocast():
            g_terms, paths = self.generator_terms(a, b)
        g_terms["g/total"].backward()
        self.g_optimizer.step()
        for p in d_params:
            p.requires_grad_(True)
        self.d_optimizer.zero_grad(set_to_none=True)
        fake_a, fake_b = self.pool_a.query(paths["b2a"]), self.pool_b.query(paths["a2b"])
        with self._autocast():
            d_terms = self.discriminator_terms(a, b, fake_a, fake_b)
        d_terms["d/total"].backward()
        self.d_optimizer.step()
        return {k: v.detach() for k, v in {**g_terms, **d_terms}.items()}


def reference_from_keras(nets, config, device="cpu", precision="float32"):
    """A CycleReference of ``config``'s model holding the weights of our Keras ``nets``."""
    ref = CycleReference(config.variant, config.M, config.N, config.ngf, config.ndf, config.n_blocks,
                         config.share_weights, config.lambda_cycle, config.lambda_sim,
                         config.lambda_identity, config.pool_size, config.learning_rate,
                         (config.beta1, config.beta2), device, precision, config.seed)
    for keras_chain, torch_chain in ((nets.a2b, ref.a2b), (nets.b2a, ref.b2a)):
        for keras_net, torch_net in zip(keras_chain, torch_chain):
            load_keras_weights(torch_net, keras_net.get_weights())
    load_keras_weights(ref.d_a, nets.d_a.get_weights())
    load_keras_weights(ref.d_b, nets.d_b.get_weights())
    return ref


def to_torch(images, device="cpu"):
    """NHWC array -> NCHW float32 tensor."""
    return torch.from_numpy(np.ascontiguousarray(np.transpose(np.asarray(images, np.float32),
                                                              (0, 3, 1, 2)))).to(device)


def to_numpy(tensor):
    """NCHW tensor -> NHWC float32 array."""
    return np.transpose(tensor.detach().float().cpu().numpy(), (0, 2, 3, 1))


def compare_with_keras(nets, config, a, b, device="cpu"):
    """|ours - reference| for our Keras ``nets`` (any backend) and a reference holding their weights,
    on NHWC batches a, b: the largest over every image path ('images') and each loss term of
    ``config.variant``'s generator objective and of the (halved) discriminator loss."""
    from keras import ops

    from models.cycle import discriminator_losses, generator_losses

    ref = reference_from_keras(nets, config, device)
    terms, paths = generator_losses(nets, a, b, variant=config.variant, lambda_cycle=config.lambda_cycle,
                                    lambda_sim=config.lambda_sim, lambda_identity=config.lambda_identity)
    terms.update(discriminator_losses(nets, a, b, paths["b2a"], paths["a2b"], halve=True))
    with torch.no_grad():
        ta, tb = to_torch(a, device), to_torch(b, device)
        ref_terms, ref_paths = ref.generator_terms(ta, tb)
        ref_terms.update(ref.discriminator_terms(ta, tb, ref_paths["b2a"], ref_paths["a2b"]))
    if set(ref_terms) != set(terms):
        raise AssertionError(f"loss terms differ: ours {sorted(terms)}, reference {sorted(ref_terms)}")
    diffs = {"images": max(float(np.max(np.abs(ops.convert_to_numpy(paths[k]) - to_numpy(v))))
                           for k, v in ref_paths.items())}
    diffs.update({k: abs(float(ops.convert_to_numpy(terms[k])) - float(ref_terms[k])) for k in sorted(terms)})
    return diffs
