"""``feature_maps(x)`` of the built-in discriminators: the maps their own logit is computed from."""

import pytest
import torch
import torch.nn.functional as F

from akdgbench.plugins import make


def test_dcgan_maps_one_per_conv_layer_and_the_logit_reads_the_last():
    d = make("architecture", "dcgan:d_width=0.05").build_discriminator(16, 1).eval()
    x = torch.randn(3, 1, 16, 16)
    maps = d.feature_maps(x)
    assert len(maps) == 2 * 2 + 1  # two halvings of a conv pair, then the last conv
    assert maps[0].shape[-1] == 16 and maps[1].shape[-1] == 8 and maps[-1].shape[-1] == 4
    assert torch.allclose(d.linear(maps[-1].flatten(1)), d(x))


def test_sngan_maps_one_per_block():
    d = make("architecture", "sngan:d_width=0.1").build_discriminator(32, 3).eval()
    x = torch.randn(2, 3, 32, 32)
    maps = d.feature_maps(x)
    assert [m.shape[-1] for m in maps] == [16, 8, 8, 8]
    assert torch.allclose(d.linear(F.relu(maps[-1]).sum(dim=(2, 3))), d(x), atol=1e-6)


def test_mlp_maps_one_per_hidden_layer():
    d = make("architecture", "mlp:d_width=0.1").build_discriminator(16, 1)
    x = torch.randn(4, 1, 16, 16)
    maps = d.feature_maps(x)
    assert [m.shape for m in maps] == [(4, 51), (4, 51)]
    assert torch.allclose(d.net[-1](maps[-1]), d(x))


@pytest.mark.parametrize("family", ["dcgan", "sngan", "mlp"])
def test_maps_carry_gradients_to_the_input(family):
    d = make("architecture", f"{family}:d_width=0.1").build_discriminator(16, 1)
    x = torch.randn(2, 1, 16, 16, requires_grad=True)
    (grad,) = torch.autograd.grad(d.feature_maps(x)[-1].sum(), x)
    assert grad.abs().sum() > 0
