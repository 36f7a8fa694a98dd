"""``tinygan``: Chang & Lu, ACCV 2020, "TinyGAN" (terarachang/ACCV_TinyGAN).

Black-box distillation: the student sees only the teacher's images. One
discriminator D learns the teacher's images G_t(z) as "real" and, with weight
``real_weight``, real data against a second student batch G_s(z2):

    L_D = adv_D(D(G_t(z)), D(G_s(z))) + real_weight * adv_D(D(x), D(G_s(z2)))
    L_G = feature_weight * sum_j w_j * L1(D_j(G_s(z)), D_j(G_t(z)))      feature loss
        + pixel_weight(t) * L1(G_s(z), G_t(z))                            pixel loss
        + gan_weight * adv_G(D(G_s(z)))                                   adversarial KD
        + gan_weight * real_weight * adv_G(D(G_s(z2)))                    real-data term

D_j are D's feature maps after each conv layer (``feature_maps`` of the
built-in discriminators), weighted as in the official ``CMPDisLoss``: 1 for
the deepest, then 1/4, 1/8, ... towards the image (1/32 ... 1 for their five
layers). The defaults are the official ``main.py``/``solver.py``: lambda_gan
0.01, the real-data terms at 0.2, an L1 pixel weight of 0.2 lowered by 0.01
per epoch over 30 epochs, i.e. linearly to 0 at two thirds of training
(``pixel_decay_end``; 0 keeps it constant).

Adapted to unconditional generation: TinyGAN distils class-conditional BigGAN
with a projection discriminator and a data set of teacher images dumped
beforehand; here D is the student architecture's unconditional discriminator,
teacher images are made on the fly for the student's own z, both sides of the
feature loss are taken from the current D in the generator step (the official
code keeps the teacher side from before D's update), and the adversarial loss
is the harness's (``--loss``; the official code uses hinge).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from akdgbench import Method, UsageError, hookimpl
from akdgbench.builtin.methods._stages import check_same_images


class TinyGAN(Method):
    name = "tinygan"
    description = ("black-box distillation: pixel L1, adversarial KD with teacher images as real, "
                   "discriminator-feature loss, real-data term (Chang & Lu 2020)")
    options = {"gan_weight": 0.01, "real_weight": 0.2, "feature_weight": 1.0,
               "pixel_weight": 0.2, "pixel_decay_end": 2 / 3}
    needs_teacher = True

    def __init__(self, **given) -> None:
        super().__init__(**given)
        for key in self.options:
            if self.config[key] < 0:
                raise UsageError(f"method 'tinygan': {key} must be >= 0, not {self.config[key]}")
        if self.config["pixel_decay_end"] > 1:
            raise UsageError("method 'tinygan': pixel_decay_end must be in [0, 1] (a fraction of "
                             f"training), not {self.config['pixel_decay_end']}")

    def check_compatible(self, teacher, student) -> None:
        check_same_images(teacher, student, same_latent=True)

    def setup(self, ctx) -> None:
        self.d = ctx.new_discriminator("d")
        check_feature_maps(self.d, self.name, ctx.student_arch)
        self.student = ctx.student

    def discriminator_losses(self, step) -> dict[str, torch.Tensor]:
        loss = step.adv.discriminator_loss(self.d, step.teacher(step.z), step.fake)
        if self.config["real_weight"] > 0:
            with torch.no_grad():
                second = self.student(step.new_latent())
            loss = loss + self.config["real_weight"] * step.adv.discriminator_loss(
                self.d, step.real, second)
        return {"d": loss}

    def generator_loss(self, step) -> dict[str, torch.Tensor]:
        teacher_images = step.teacher(step.z)
        with torch.no_grad():
            teacher_maps = self.d.feature_maps(teacher_images)
        student_maps = self.d.feature_maps(step.fake)
        weights = feature_weights(len(student_maps))
        feature = sum(w * F.l1_loss(s, t)
                      for w, s, t in zip(weights, student_maps, teacher_maps, strict=True))
        terms = {
            "feature": self.config["feature_weight"] * feature,
            "pixel": self.pixel_weight(step.progress) * F.l1_loss(step.fake, teacher_images),
            "adv": self.config["gan_weight"] * step.adv.generator_loss(self.d, step.fake),
        }
        if self.config["real_weight"] > 0:
            second = self.student(step.new_latent())
            terms["adv_real"] = (self.config["gan_weight"] * self.config["real_weight"]
                                 * step.adv.generator_loss(self.d, second))
        return terms

    def pixel_weight(self, progress: float) -> float:
        end = self.config["pixel_decay_end"]
        if end == 0:
            return self.config["pixel_weight"]
        return self.config["pixel_weight"] * max(0.0, 1.0 - progress / end)


def feature_weights(count: int) -> list[float]:
    """TinyGAN's per-layer weights: 1 for the deepest map, then 1/4, 1/8, ... towards the image."""
    return [1.0 if j == count - 1 else 2.0 ** -(count - j) for j in range(count)]


def check_feature_maps(discriminator, method: str, arch) -> None:
    """The discriminator must expose ``feature_maps(x)``; a clear error names the architecture."""
    if not callable(getattr(discriminator, "feature_maps", None)):
        raise UsageError(f"method {method!r} needs the discriminator's feature maps, but "
                         f"architecture {arch.spec!r} builds one without feature_maps(x)")


@hookimpl
def register_methods(register) -> None:
    register(TinyGAN)
