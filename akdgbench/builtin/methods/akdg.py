"""``akdg``: adversarial knowledge distillation (Tsunashima et al. ICPR 2020).

"Adversarial Knowledge Distillation for a Compact Generator".

Besides the usual discriminator D on real data, a distillation discriminator
D_kd learns to tell the teacher's images (as "real") from the student's (as
"fake"), with independent latents z' and z; the student fools both:

    L_D    = adv_D(D(x), D(G_s(z)))
    L_D_kd = adv_D(D_kd(G_t(z')), D_kd(G_s(z)))
    L_G    = adv_G(D(G_s(z))) + lambda * adv_G(D_kd(G_s(z)))
"""

from __future__ import annotations

import torch

from akdgbench import Method, UsageError, hookimpl
from akdgbench.builtin.methods._stages import check_same_images


class AKDG(Method):
    name = "akdg"
    table_order = 3
    extendable = True
    description = ("adversarial distillation: a second discriminator tells teacher from "
                   "student images (Tsunashima et al. 2020)")
    options = {"lambda": 1.0, "kd_arch": ""}
    needs_teacher = True

    def __init__(self, **given) -> None:
        super().__init__(**given)
        self.lam = self.config["lambda"]
        if self.lam < 0:
            raise UsageError(f"method 'akdg': lambda must be >= 0, not {self.lam}")
        from akdgbench.plugins import make  # not at import: plugins.py imports this module

        # built now so that a bad spec fails before any training
        kd_spec = self.config["kd_arch"]
        self.kd_arch = make("architecture", kd_spec, role="student") if kd_spec else None

    def check_compatible(self, teacher, student) -> None:
        check_same_images(teacher, student, same_latent=False)

    def setup(self, ctx) -> None:
        self.d = ctx.new_discriminator("d")
        self.d_kd = ctx.new_discriminator("d_kd", self.kd_arch)

    def discriminator_losses(self, step) -> dict[str, torch.Tensor]:
        return {
            "d": step.adv.discriminator_loss(self.d, step.real, step.fake),
            "d_kd": step.adv.discriminator_loss(self.d_kd, step.teacher_sample(), step.fake),
        }

    def generator_loss(self, step) -> dict[str, torch.Tensor]:
        return {
            "adv": step.adv.generator_loss(self.d, step.fake),
            "kd": self.lam * step.adv.generator_loss(self.d_kd, step.fake),
        }


@hookimpl
def register_methods(register) -> None:
    register(AKDG)
