"""``feature-kd``: Li et al., CVPR 2020, "GAN Compression" (mit-han-lab/gan-compression).

The student learns the teacher's intermediate feature maps through learnable
1x1 convolutions A_i (student width -> teacher width), reconstructs the
teacher's output, and plays the adversarial game on real data:

    L_G = gan_weight * adv_G(D(G_s(z)))
        + recon_weight * L1(G_s(z), G_t(z))
        + distill_weight * sum_i MSE(A_i(S_i(z)), T_i(z))
    L_D = adv_D(D(x), D(G_s(z)))

S_i / T_i are the outputs of the generators' stages before the image stage
(the official code taps four layers of the ResNet body; here every aligned
intermediate stage is tapped). The adapters train with the student.

Adapted to unconditional generation: the official code has a paired (pix2pix)
and an unpaired (CycleGAN) setting; without paired ground truth the
reconstruction target is the teacher's image, as in its unpaired setting, and
the defaults are that setting's (``distill.sh`` for horse2zebra:
lambda_recon 10, lambda_distill 0.01, lambda_gan 1; L1 reconstruction). The
adversarial loss is the harness's (``--loss``), not their LSGAN with its 0.5
factor on D. Their scripts initialise D from the teacher's discriminator; here
D starts fresh, so teachers without a discriminator work (``ssgc``/``dcd``
use the teacher's). Flat (MLP) stages get linear adapters, the 1x1 analogue.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from akdgbench import Method, UsageError, hookimpl
from akdgbench.builtin.methods._alignment import intermediate_widths, pointwise
from akdgbench.builtin.methods._stages import check_same_images


class FeatureKD(Method):
    name = "feature-kd"
    description = ("intermediate feature distillation through 1x1 convs, L1 to the teacher's "
                   "image, adversarial loss (Li et al. 2020, GAN Compression)")
    options = {"gan_weight": 1.0, "recon_weight": 10.0, "distill_weight": 0.01}
    needs_teacher = True
    extendable = True

    def __init__(self, **given) -> None:
        super().__init__(**given)
        for key in self.options:
            if self.config[key] < 0:
                raise UsageError(f"method 'feature-kd': {key} must be >= 0, not "
                                 f"{self.config[key]}")

    def check_compatible(self, teacher, student) -> None:
        check_same_images(teacher, student, same_latent=True)
        intermediate_widths(teacher, student)

    def setup(self, ctx) -> None:
        self.d = ctx.new_discriminator("d")
        self.adapters = [
            ctx.add_generator_module(f"adapter{i}", pointwise(student_width, teacher_width, rank))
            for i, (teacher_width, student_width, rank)
            in enumerate(intermediate_widths(ctx.teacher, ctx.student))
        ]

    def discriminator_losses(self, step) -> dict[str, torch.Tensor]:
        return {"d": step.adv.discriminator_loss(self.d, step.real, step.fake)}

    def generator_loss(self, step) -> dict[str, torch.Tensor]:
        student, teacher = step.student_features(), step.teacher_features(step.z)
        distill = sum(F.mse_loss(adapter(s), t) for adapter, s, t
                      in zip(self.adapters, student[:-1], teacher[:-1], strict=True))
        return {
            "adv": self.config["gan_weight"] * step.adv.generator_loss(self.d, step.fake),
            "recon": self.config["recon_weight"] * F.l1_loss(step.fake, teacher[-1]),
            "distill": self.config["distill_weight"] * distill,
        }


@hookimpl
def register_methods(register) -> None:
    register(FeatureKD)
