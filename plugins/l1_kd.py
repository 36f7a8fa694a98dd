"""A worked example: a new distillation method in one small file.

``l1-kd`` trains the student adversarially on real data and adds an L1
pixel distillation term towards the teacher's image for the same latent:

    L_G = adv(D(G_s(z))) + weight * |G_s(z) - G_t(z)|_1

Drop a file like this into ./plugins (or --plugins-dir DIR) and run
``akdgbench run --methods l1-kd:weight=5,akdg``. ``akdgbench plugins`` shows it.
"""

import torch.nn.functional as F

from akdgbench import Method, UsageError, hookimpl


class L1Distillation(Method):
    name = "l1-kd"
    description = "adversarial loss plus an L1 pixel loss towards the teacher (same z)"
    options = {"weight": 10.0}
    needs_teacher = True

    def check_compatible(self, teacher, student):
        if teacher.z_dim != student.z_dim:
            raise UsageError(f"l1-kd needs one latent size: teacher z_dim {teacher.z_dim}, "
                             f"student z_dim {student.z_dim}")

    def setup(self, ctx):
        self.d = ctx.new_discriminator("d")

    def discriminator_losses(self, step):
        return {"d": step.adv.discriminator_loss(self.d, step.real, step.fake)}

    def generator_loss(self, step):
        return {
            "adv": step.adv.generator_loss(self.d, step.fake),
            "l1": self.config["weight"] * F.l1_loss(step.fake, step.teacher(step.z)),
        }


@hookimpl
def register_methods(register):
    register(L1Distillation)
