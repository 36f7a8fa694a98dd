"""``ssgc``: Yu & Pool, NeurIPS 2020, "Self-Supervised GAN Compression".

The teacher's trained discriminator supervises the compressed generator: it
already knows what the teacher's images look like. D starts as a copy of the
teacher's discriminator and keeps training against the student; the student
fools it and matches, through it, the teacher's image for the same latent:

    L_D = adv_D(D(x), D(G_s(z)))
    L_G = adv_G(D(G_s(z))) + distill_weight * mean |D(G_s(z)) - D(G_t(z))|

With ``finetune=false`` D is the teacher's discriminator itself, frozen: no
discriminator is trained and only the teacher's trained D judges the student.

No official code exists; the terms follow the paper's description (the
trained discriminator as the self-supervision signal, the compressed
generator's outputs driven towards the dense one's). Adapted: the paper
compresses by pruning the teacher's own weights and fine-tuning them; here the
student is a separately built smaller architecture trained from its own
initialisation, and the adversarial loss is the harness's (``--loss``).
"""

from __future__ import annotations

import torch

from akdgbench import Method, UsageError, hookimpl
from akdgbench.builtin.methods._stages import check_same_images


def _logits(disc, images: torch.Tensor) -> torch.Tensor:
    return disc(images).reshape(-1).float()


class SSGC(Method):
    name = "ssgc"
    description = ("the teacher's trained discriminator supervises the student "
                   "(Yu & Pool 2020, Self-Supervised GAN Compression)")
    options = {"distill_weight": 1.0, "finetune": True}
    needs_teacher_discriminator = True
    extendable = True

    def __init__(self, **given) -> None:
        super().__init__(**given)
        self.distill_weight = self.config["distill_weight"]
        if self.distill_weight < 0:
            raise UsageError(f"method 'ssgc': distill_weight must be >= 0, not "
                             f"{self.distill_weight}")

    def check_compatible(self, teacher, student) -> None:
        check_same_images(teacher, student, same_latent=True)

    def setup(self, ctx) -> None:
        self.finetune = self.config["finetune"]
        self.d = (ctx.copy_teacher_discriminator("d") if self.finetune
                  else ctx.teacher_discriminator)

    def discriminator_losses(self, step) -> dict[str, torch.Tensor]:
        if not self.finetune:
            return {}
        return {"d": step.adv.discriminator_loss(self.d, step.real, step.fake)}

    def generator_loss(self, step) -> dict[str, torch.Tensor]:
        with torch.no_grad():
            teacher_logits = _logits(self.d, step.teacher(step.z))
        distance = (_logits(self.d, step.fake) - teacher_logits).abs().mean()
        return {"adv": step.adv.generator_loss(self.d, step.fake),
                "distill": self.distill_weight * distance}


@hookimpl
def register_methods(register) -> None:
    register(SSGC)
