"""``lit``: Koratana et al., ICML 2019, "LIT: Learned Intermediate Representation Training
for Model Compression"; its official code is stanford-futuredata/lit-code.

Teacher and student are split into aligned stages T_i and S_i (only the
channel width may differ). The first ``lit_fraction`` of the student's steps
are phase 1, the rest phase 2.

Phase 1, LIT training (no discriminator trains)::

    L_G = beta * MSE(G_s(z), G_t(z))
          + (1 - beta) * sum_i MSE(P_i(S_i(P_{i-1}^+(T_{i-1}(z)))), T_i(z)),   T_{-1}(z) = z

- The sum is LIT's intermediate-representation (IR) loss: every student stage
  is fed the teacher's previous stage output, so all stages train at once
  (the paper's second key idea; the StarGAN solver's ``lit_train`` trains its
  student section this way with ``nn.MSELoss``).
- The first term is LIT's output term on the student run end to end, weighted
  ``beta`` against ``1 - beta`` for the IR terms, ``beta`` = 0.5 by default
  (``vdcnn/lit.py``: ``full_loss * beta``, each section ``* (1 - beta)``, with
  ``beta = 0.5``). There it is the KD loss on class logits; a generator's
  output is pixels, so it is the pixel MSE to the teacher's image for the same
  z. The StarGAN solver's phase 1 has no output term: ``beta=0`` reproduces it.

Phase 2, fine-tuning: the stitched student is trained with the GAN's own
adversarial loss against a discriminator D that trains in this phase only::

    L_D = adv_D(D(x), D(G_s(z)))        L_G = adv_G(D(G_s(z)))

(the StarGAN solver's ``fine_tune``: the assembled generator trained with
StarGAN's own losses, whose unconditional part is the adversarial loss). The
solver runs 200,000 LIT iterations (``litters``) and then 200,000 fine-tuning
iterations (``num_iters``), hence ``lit_fraction`` = 0.5. D starts as the
teacher's trained discriminator (the solver's ``restore_model`` loads
``D_teacher.ckpt`` into the D it fine-tunes), with a fresh optimizer:
``d_init=teacher``, the default. ``d_init=fresh`` starts D untrained instead
(``ctx.new_discriminator``), for a teacher checkpoint that kept no
discriminator.

Widths: LIT's own students keep the teacher's widths. Where a stage's widths
differ here, a 1x1 map P_i (a linear map for flat stages; trained with the
student) takes S_i's output to the teacher's width for its IR term, and S_{i+1}
is fed P_i^+(T_i), the pseudo-inverse of P_i applied to the teacher's output
(no gradient through it). That is the least-squares optimum of S_i's own IR
term, min_s |P_i s - T_i|^2, so S_{i+1} trains on the input that S_i, trained
to its optimum, hands it in the stitched student; a separately learnt input
map would train S_{i+1} on features S_i is never asked to produce. The optimum
is unique where the student stage is narrower than the teacher's (the usual
case); where it is wider, P_i^+ T_i is the smallest of the optima and S_i's
output may differ from it along P_i's null space, which phase 2 then absorbs.
The optimum is over all outputs; a stage whose output is constrained (non-negative
after a ReLU) can only come near it, another gap the fine-tuning closes.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from akdgbench import Method, UsageError, hookimpl
from akdgbench.builtin.methods._stages import describe, stage_output_shapes


class LIT(Method):
    name = "lit"
    table_order = 2
    description = ("stage-wise training on the teacher's intermediate outputs, then adversarial "
                   "fine-tuning of the stitched student (Koratana et al. 2019)")
    options = {"lit_fraction": 0.5, "beta": 0.5, "d_init": "teacher"}
    needs_teacher = True

    def __init__(self, **given) -> None:
        super().__init__(**given)
        self.lit_fraction = self.config["lit_fraction"]
        self.beta = self.config["beta"]
        if not 0 <= self.lit_fraction <= 1:
            raise UsageError(
                f"method 'lit': lit_fraction must be in [0, 1], not {self.lit_fraction}")
        if not 0 <= self.beta <= 1:
            raise UsageError(f"method 'lit': beta must be in [0, 1], not {self.beta}")
        if self.config["d_init"] not in ("teacher", "fresh"):
            raise UsageError(f"method 'lit': d_init must be 'teacher' or 'fresh', not "
                             f"{self.config['d_init']!r}")
        self.needs_teacher_discriminator = self.config["d_init"] == "teacher"

    def check_compatible(self, teacher, student) -> None:
        aligned_widths(teacher, student)

    def setup(self, ctx) -> None:
        widths = aligned_widths(ctx.teacher, ctx.student)
        self.adapters: list[nn.Module | None] = [
            _adapter(ctx, f"out{i}", student_width, teacher_width, rank)
            for i, (teacher_width, student_width, rank) in enumerate(widths)]
        self.teacher_stages = ctx.teacher.stages
        self.student_stages = ctx.student.stages
        self.d = (ctx.copy_teacher_discriminator("d") if self.needs_teacher_discriminator
                  else ctx.new_discriminator("d"))
        self.device = ctx.device

    def in_phase_one(self, step) -> bool:
        return step.progress < self.lit_fraction

    def discriminator_losses(self, step) -> dict[str, torch.Tensor]:
        if self.in_phase_one(step):
            return {}  # D sits phase 1 out: never run, no gradient, no optimizer step
        return {"d": step.adv.discriminator_loss(self.d, step.real, step.fake)}

    def generator_loss(self, step) -> dict[str, torch.Tensor]:
        if not self.in_phase_one(step):
            return {"adv": step.adv.generator_loss(self.d, step.fake)}
        with torch.no_grad():
            teacher_outputs = []
            x = step.z
            for stage in self.teacher_stages:
                x = stage(x)
                teacher_outputs.append(x)
        losses = {"output": self.beta * F.mse_loss(step.fake, teacher_outputs[-1])}
        for i, stage in enumerate(self.student_stages):
            stage_input = step.z if i == 0 else self.student_input(i, teacher_outputs[i - 1])
            prediction = _maybe(self.adapters[i], stage(stage_input))
            losses[f"stage{i}"] = (1 - self.beta) * F.mse_loss(prediction, teacher_outputs[i])
        return losses

    def student_input(self, i: int, teacher_output: torch.Tensor) -> torch.Tensor:
        """P_{i-1}^+(T_{i-1}(z)): what student stage ``i`` is trained on (see the module doc)."""
        adapter = self.adapters[i - 1]
        if adapter is None:
            return teacher_output
        weight = adapter.weight.detach()
        inverse = pseudo_inverse(weight.flatten(1).float()).to(weight.dtype)
        if isinstance(adapter, nn.Linear):
            return F.linear(teacher_output, inverse)
        convolve = F.conv2d if isinstance(adapter, nn.Conv2d) else F.conv1d
        return convolve(teacher_output, inverse.view(*inverse.shape, *weight.shape[2:]))


def pseudo_inverse(matrix: torch.Tensor) -> torch.Tensor:
    """The Moore-Penrose pseudo-inverse of a full-rank matrix, from its smaller Gram matrix.

    ``torch.linalg.pinv`` runs an SVD whose convergence check makes the host wait for a
    GPU at every step; ``solve_ex`` checks nothing. A ridge of 1e-6 of the Gram matrix's
    mean diagonal keeps a nearly rank-deficient adapter from blowing the input up.
    """
    rows, columns = matrix.shape
    tall = rows >= columns
    gram = matrix.T @ matrix if tall else matrix @ matrix.T
    ridge = 1e-6 * gram.diagonal().mean() * torch.eye(len(gram), device=gram.device)
    if tall:  # (P^T P)^-1 P^T
        return torch.linalg.solve_ex(gram + ridge, matrix.T)[0]
    return torch.linalg.solve_ex(gram + ridge, matrix)[0].T  # P^T (P P^T)^-1


def aligned_widths(teacher, student) -> list[tuple[int, int, int]]:
    """(teacher width, student width, rank) per stage; a UsageError where stages do not align."""
    if teacher.z_dim != student.z_dim:
        raise UsageError(f"stage 0 of both reads z, but the teacher's z has {teacher.z_dim} "
                         f"dimensions and the student's {student.z_dim}")
    teacher_shapes, student_shapes = stage_output_shapes(teacher), stage_output_shapes(student)
    if len(teacher_shapes) != len(student_shapes):
        raise UsageError(f"no aligned stages: teacher {describe(teacher)} vs student "
                         f"{describe(student)}")
    widths = []
    for i, (t_shape, s_shape) in enumerate(zip(teacher_shapes, student_shapes, strict=True)):
        if len(t_shape) != len(s_shape) or t_shape[1:] != s_shape[1:] or len(t_shape) > 3:
            raise UsageError(
                f"no aligned stages: stage {i} of teacher {describe(teacher)} outputs {t_shape} "
                f"but of student {describe(student)} {s_shape} (only widths may differ)")
        widths.append((t_shape[0], s_shape[0], len(t_shape) + 1))
    return widths


def _adapter(ctx, name: str, width_in: int, width_out: int, rank: int) -> nn.Module | None:
    """A 1x1 map between widths (None where they already agree), trained with the student."""
    if width_in == width_out:
        return None
    layer = {2: nn.Linear, 3: nn.Conv1d, 4: nn.Conv2d}[rank]
    kwargs = {} if rank == 2 else {"kernel_size": 1}
    return ctx.add_generator_module(f"adapter_{name}", layer(width_in, width_out, bias=False,
                                                             **kwargs))


def _maybe(adapter: nn.Module | None, x: torch.Tensor) -> torch.Tensor:
    return x if adapter is None else adapter(x)


@hookimpl
def register_methods(register) -> None:
    register(LIT)
