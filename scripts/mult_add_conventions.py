"""Which mult-add count reproduces the AKDG paper's (README, "Reproducing the paper").

For the generators of the paper suites, prints the harness's count (torch.utils.flop_counter
over two: the multiply-adds actually performed) beside a count that charges a transposed conv
C_in * C_out * k * k per *output* pixel, as a dense conv at the output resolution would cost
(per-module counters such as thop count transposed convs this way). Both count only
linear layers and convolutions, one multiply-add once.

    OMP_NUM_THREADS=1 .venv/bin/python scripts/mult_add_conventions.py
"""

from __future__ import annotations

import torch
from torch import nn

from akdgbench.evaluate import count_mult_adds
from akdgbench.plugins import make

#: (what, the paper's mult-adds or None, architecture spec, role, resolution)
GENERATORS = [
    ("Table I teacher, SNGAN 32px", "793M", "sngan", "teacher", 32),
    ("Table I DCGAN student 32px", "229M", "dcgan:width=0.8", "student", 32),
    ("Table I MLP student 32px", None, "mlp", "student", 32),
    ("Table II DCGAN student 256px", "785M", "dcgan:width=0.97", "student", 256),
    ("Table II teacher (SNGAN, not the paper's PGGAN) 256px", None, "sngan", "teacher", 256),
]


def per_output_pixel_mult_adds(generator: nn.Module, z: torch.Tensor) -> int:
    """Linear and conv layers as the harness counts them; transposed convs per output pixel."""
    total = 0

    def count(module: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        nonlocal total
        if isinstance(module, nn.Linear):
            total += module.in_features * module.out_features * output.numel() // output.shape[-1]
        else:  # Conv2d and ConvTranspose2d alike: every output value costs C_in/groups * k*k
            kernel = module.kernel_size[0] * module.kernel_size[1]
            total += output.numel() * module.in_channels // module.groups * kernel

    layers = (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)
    hooks = [m.register_forward_hook(count) for m in generator.modules() if isinstance(m, layers)]
    try:
        with torch.no_grad():
            generator(z)
    finally:
        for hook in hooks:
            hook.remove()
    return total


def main() -> None:
    print(f"{'generator':56} {'params':>10} {'layers':>6} {'harness':>9} "
          f"{'ConvT per output px':>19} {'paper':>6}")
    for what, paper, spec, role, resolution in GENERATORS:
        generator = make("architecture", spec, role=role).build_generator(resolution, 3).eval()
        z = torch.randn(1, generator.z_dim)
        params = sum(parameter.numel() for parameter in generator.parameters())
        harness = count_mult_adds(generator, z)
        per_output = per_output_pixel_mult_adds(generator, z)
        print(f"{what:56} {params:>10,} {generator.layer_count:>6} {harness / 1e6:>8.1f}M "
              f"{per_output / 1e6:>18.1f}M {paper or '-':>6}")


if __name__ == "__main__":
    main()
