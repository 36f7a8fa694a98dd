"""``mse``: Aguinaldo et al. 2019, "Compressing GANs using Knowledge Distillation".

The student copies the teacher pixel by pixel for the same latent:

    L_G = MSE(G_s(z), G_t(z))  [+ adv_weight * adv_G(D(G_s(z)))]

With ``adv_weight`` > 0 the student also plays against its own discriminator
on real data (their "joint" loss); at 0 (the AKDG paper's baseline) no
discriminator exists and real data is never read.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from akdgbench import Method, UsageError, hookimpl
from akdgbench.builtin.methods._stages import check_same_images


class MSE(Method):
    name = "mse"
    table_order = 1
    extendable = True
    description = "pixel-wise MSE to the teacher's image for the same z (Aguinaldo et al. 2019)"
    options = {"adv_weight": 0.0}
    needs_teacher = True

    def __init__(self, **given) -> None:
        super().__init__(**given)
        self.adv_weight = self.config["adv_weight"]
        if self.adv_weight < 0:
            raise UsageError(f"method 'mse': adv_weight must be >= 0, not {self.adv_weight}")

    def check_compatible(self, teacher, student) -> None:
        check_same_images(teacher, student, same_latent=True)

    def setup(self, ctx) -> None:
        self.d = ctx.new_discriminator("d") if self.adv_weight > 0 else None

    def discriminator_losses(self, step) -> dict[str, torch.Tensor]:
        if self.d is None:
            return {}
        return {"d": step.adv.discriminator_loss(self.d, step.real, step.fake)}

    def generator_loss(self, step) -> dict[str, torch.Tensor]:
        terms = {"mse": F.mse_loss(step.fake, step.teacher(step.z))}
        if self.d is not None:
            terms["adv"] = self.adv_weight * step.adv.generator_loss(self.d, step.fake)
        return terms


@hookimpl
def register_methods(register) -> None:
    register(MSE)
