"""``vanilla``: the plain GAN baseline every table needs; the student never sees a teacher.

    L_D = adv_D(D(x), D(G_s(z)))        L_G = adv_G(D(G_s(z)))
"""

from __future__ import annotations

import torch

from akdgbench import Method, hookimpl


class Vanilla(Method):
    name = "vanilla"
    table_order = 0
    extendable = True
    description = "plain adversarial training on real data (no teacher)"

    def setup(self, ctx) -> None:
        self.d = ctx.new_discriminator("d")

    def discriminator_losses(self, step) -> dict[str, torch.Tensor]:
        return {"d": step.adv.discriminator_loss(self.d, step.real, step.fake)}

    def generator_loss(self, step) -> torch.Tensor:
        return step.adv.generator_loss(self.d, step.fake)


@hookimpl
def register_methods(register) -> None:
    register(Vanilla)
