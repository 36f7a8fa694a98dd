"""The contract for distillation-method plugins.

A method states only its losses and the extra parts it needs; the engine
(``akdgbench.engine``) owns devices, optimizers, n_dis, precision, EMA,
checkpoints, seeds and hooks. A new method is one small file::

    class MyMethod(Method):
        name = "mine"
        needs_teacher = True

        def setup(self, ctx):
            self.d = ctx.new_discriminator("d")

        def discriminator_losses(self, step):
            return {"d": step.adv.discriminator_loss(self.d, step.real, step.fake)}

        def generator_loss(self, step):
            return {"adv": step.adv.generator_loss(self.d, step.fake),
                    "kd": F.mse_loss(step.fake, step.teacher(step.z))}
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Protocol

import torch
from torch import nn

from akdgbench.specs import Configurable

if TYPE_CHECKING:
    from akdgbench.architecture import Architecture, Generator
    from akdgbench.losses import AdversarialLoss


class MethodContext(Protocol):
    """What ``Method.setup`` receives from the engine."""

    student: Generator
    teacher: Generator | None  # frozen, eval mode, no gradients
    student_arch: Architecture
    teacher_arch: Architecture | None
    device: torch.device
    total_steps: int
    resolution: int
    channels: int

    def new_discriminator(self, name: str, arch: Architecture | None = None) -> nn.Module:
        """A fresh discriminator (default: the student architecture's) with its own optimizer.

        ``discriminator_losses`` returns its loss under the same ``name``.
        """

    def add_generator_module(self, name: str, module: nn.Module) -> nn.Module:
        """Extra parts trained with the student's optimizer and saved in checkpoints (adapters)."""

    @property
    def teacher_discriminator(self) -> nn.Module:
        """The teacher's trained discriminator: frozen (eval mode, no gradients), on ``device``.

        Only for methods that declare ``needs_teacher_discriminator = True``.
        """

    def copy_teacher_discriminator(self, name: str) -> nn.Module:
        """A trainable copy of the teacher's discriminator, registered like ``new_discriminator``.

        It has its own (fresh) optimizer and is checkpointed; ``discriminator_losses``
        returns its loss under ``name``.
        """


class Step(Protocol):
    """One training step as a method sees it. Everything is computed lazily, on first use."""

    index: int  # the generator step, 0-based
    progress: float  # index / total steps, in [0, 1)
    real: torch.Tensor  # a batch of real images
    z: torch.Tensor  # the latent batch the student is fed
    fake: torch.Tensor  # student(z): no autograd in the discriminator phase
    adv: AdversarialLoss

    def teacher(self, z: torch.Tensor) -> torch.Tensor:
        """The teacher's images for ``z`` (no gradient)."""

    def teacher_sample(self) -> torch.Tensor:
        """Teacher images for a fresh latent z', independent of ``z``."""

    def student_features(self) -> list[torch.Tensor]:
        """The student's stage outputs for ``z``, the last being ``fake``: from the forward
        that made ``fake`` (gradients flow through them in the generator phase)."""

    def teacher_features(self, z: torch.Tensor) -> list[torch.Tensor]:
        """The teacher's stage outputs for ``z``, the last being ``teacher(z)`` (no gradient);
        one teacher forward serves both for the same ``z`` tensor."""

    def new_latent(self) -> torch.Tensor:
        """A fresh latent batch for the student."""


class Method(Configurable):
    plugin_kind = "method"
    needs_teacher: ClassVar[bool] = False
    #: the method uses ``ctx.teacher_discriminator`` (implies ``needs_teacher``); a teacher
    #: without a discriminator (e.g. a bare generator checkpoint) is refused before training.
    #: A method whose option decides it sets it in ``__init__`` (lit's ``d_init``)
    needs_teacher_discriminator: bool = False
    #: the method's place in tables and plots (lower first); methods without one follow,
    #: alphabetically. The built-ins take the AKDG paper's order: vanilla, mse, lit, akdg.
    table_order: ClassVar[float | None] = None
    #: nothing the method does depends on the budget (it reads neither ``step.progress``
    #: nor ``ctx.total_steps``), so a finished run can continue to a longer budget and end
    #: where a run trained that long from the start ends; otherwise a longer budget retrains
    extendable: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.needs_teacher_discriminator:
            cls.needs_teacher = True

    def check_compatible(self, teacher: Generator | None, student: Generator) -> None:
        """Raise ``UsageError`` when this method cannot distil ``teacher`` into ``student``."""

    def setup(self, ctx: MethodContext) -> None:
        """Build the method's extra parts (discriminators, adapters) through ``ctx``."""

    def discriminator_losses(self, step: Step) -> dict[str, torch.Tensor]:
        """One loss per discriminator that trains this step, keyed by its name.

        A discriminator left out sits the step out ({} when none trains).
        """
        return {}

    def generator_loss(self, step: Step) -> torch.Tensor | dict[str, torch.Tensor]:
        """The student's loss, or named terms that are summed (each is logged)."""
        raise NotImplementedError

