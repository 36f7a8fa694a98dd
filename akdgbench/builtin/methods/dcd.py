"""``dcd``: Hu et al., "Discriminator-Cooperated Feature Map Distillation for GAN Compression"
(CVPR 2023; poopit/DCD-official).

The teacher's discriminator is the transformation through which feature maps
are compared. Per intermediate stage i, a 1x1 conv-BN-ReLU P_i maps the
student's features S_i(z) to image channels and a frozen, randomly initialised
1x1 conv-ReLU Q_i maps the teacher's T_i(z) likewise (as in the official
unpaired distiller, whose teacher-side connectors are not trained); both are
fed to D and their deepest D feature maps D_f must agree:

    L_DCD = sum_i L1(D_f(up(P_i(S_i(z)))), D_f(up(Q_i(T_i(z)))))

Collaborative adversarial training: D starts as the teacher's discriminator and
is trained on along with the student, which plays against it:

    L_D = adv_D(D(x), D(G_s(z)))
    L_G = dcd_weight * L_DCD + adv_weight * adv_G(D(G_s(z)))

Defaults: lambda_CD 1 and lambda_gan 1 of the official scripts. D_f is D's
last feature map before its logit (the official code taps one deep layer of
its PatchGAN D).

Adapted to unconditional generation: the official code distils image-to-image
ResNet generators whose teacher G and D are trained from scratch online with
the student; here the teacher generator is trained beforehand and frozen, and
D is its trained discriminator fine-tuned (its "from scratch" co-training is
the fine-tuning against the student). The official student loss adds VGG
perceptual and style terms towards the teacher's image; they need ImageNet VGG
weights, so they are left out. The built-in discriminators take only full
images, so the mapped feature maps are upsampled bilinearly (``up``) to the
image resolution first (the official fully convolutional D takes any size).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from akdgbench import Method, UsageError, hookimpl
from akdgbench.builtin.methods._alignment import intermediate_widths
from akdgbench.builtin.methods._stages import check_same_images
from akdgbench.builtin.methods.tinygan import check_feature_maps


class DCD(Method):
    name = "dcd"
    description = ("feature maps compared through the teacher's discriminator, collaborative "
                   "adversarial training (Hu et al. 2023, DCD)")
    options = {"dcd_weight": 1.0, "adv_weight": 1.0}
    needs_teacher_discriminator = True
    extendable = True

    def __init__(self, **given) -> None:
        super().__init__(**given)
        for key in self.options:
            if self.config[key] < 0:
                raise UsageError(f"method 'dcd': {key} must be >= 0, not {self.config[key]}")

    def check_compatible(self, teacher, student) -> None:
        check_same_images(teacher, student, same_latent=True)
        intermediate_widths(teacher, student, spatial_only=True)

    def setup(self, ctx) -> None:
        self.d = ctx.copy_teacher_discriminator("d")
        check_feature_maps(self.d, self.name, ctx.teacher_arch or ctx.student_arch)
        self.resolution = ctx.resolution
        self.student_maps, self.teacher_maps = [], []
        for i, (teacher_width, student_width, _) in enumerate(
                intermediate_widths(ctx.teacher, ctx.student, spatial_only=True)):
            self.student_maps.append(ctx.add_generator_module(
                f"student_to_image{i}", student_connector(student_width, ctx.channels)))
            teacher_side = teacher_connector(teacher_width, ctx.channels).requires_grad_(False)
            self.teacher_maps.append(ctx.add_generator_module(f"teacher_to_image{i}",
                                                              teacher_side))

    def discriminator_losses(self, step) -> dict[str, torch.Tensor]:
        return {"d": step.adv.discriminator_loss(self.d, step.real, step.fake)}

    def generator_loss(self, step) -> dict[str, torch.Tensor]:
        student, teacher = step.student_features()[:-1], step.teacher_features(step.z)[:-1]
        dcd = 0
        for to_image_s, to_image_t, s, t in zip(self.student_maps, self.teacher_maps, student,
                                                teacher, strict=True):
            with torch.no_grad():
                target = self.d.feature_maps(self._upsample(to_image_t(t)))[-1]
            dcd = dcd + F.l1_loss(self.d.feature_maps(self._upsample(to_image_s(s)))[-1], target)
        return {"dcd": self.config["dcd_weight"] * dcd,
                "adv": self.config["adv_weight"] * step.adv.generator_loss(self.d, step.fake)}

    def _upsample(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] == self.resolution:
            return x
        return F.interpolate(x, size=(self.resolution, self.resolution), mode="bilinear",
                             align_corners=False)


def student_connector(width: int, channels: int) -> nn.Module:
    """The trained student-side map to image channels: 1x1 conv (no bias), BN, ReLU."""
    return nn.Sequential(_connector_conv(width, channels), nn.BatchNorm2d(channels), nn.ReLU())


def teacher_connector(width: int, channels: int) -> nn.Module:
    """The frozen teacher-side map: 1x1 conv (no bias) and ReLU (the official connector's BN,
    untrained and in eval mode, is the identity)."""
    return nn.Sequential(_connector_conv(width, channels), nn.ReLU())


def _connector_conv(width: int, channels: int) -> nn.Conv2d:
    """He initialisation on the output fan, as the official ``build_feature_connector``."""
    conv = nn.Conv2d(width, channels, 1, bias=False)
    nn.init.normal_(conv.weight, 0.0, (2.0 / channels) ** 0.5)
    return conv


@hookimpl
def register_methods(register) -> None:
    register(DCD)
