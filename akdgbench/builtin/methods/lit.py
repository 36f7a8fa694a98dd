"""``lit``: Koratana et al. ICML 2019, "LIT: Learned Intermediate Representation Training".

Teacher and student are split into aligned stages T_i and S_i. In phase 1
(the first ``lit_fraction`` of the steps) every student stage learns to
reproduce its teacher stage from the teacher's own input, so all stages train
at once without waiting for the stages before them:

    L_G = stage_weight * sum_i MSE(out_i(S_i(in_i(T_{i-1}(z)))), T_i(z)),   T_{-1}(z) = z

``in_i`` / ``out_i`` are 1x1 adapters (linear maps for flat stages) where the
student's width differs from the teacher's. Phase 2 distils end to end:

    L_G = output_weight * MSE(G_s(z), G_t(z))

Stages align when there are as many of them and each pair of outputs has the
same rank and spatial size; only the channel width may differ.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from akdgbench import Method, UsageError, hookimpl
from akdgbench.builtin.methods._stages import describe, stage_output_shapes


class LIT(Method):
    name = "lit"
    description = ("stage-wise training on the teacher's intermediate outputs, then output KD "
                   "(Koratana et al. 2019)")
    options = {"lit_fraction": 0.5, "stage_weight": 1.0, "output_weight": 1.0}
    needs_teacher = True

    def __init__(self, **given) -> None:
        super().__init__(**given)
        self.lit_fraction = self.config["lit_fraction"]
        self.stage_weight = self.config["stage_weight"]
        self.output_weight = self.config["output_weight"]
        if not 0 <= self.lit_fraction <= 1:
            raise UsageError(
                f"method 'lit': lit_fraction must be in [0, 1], not {self.lit_fraction}")
        if self.stage_weight < 0 or self.output_weight < 0:
            raise UsageError("method 'lit': stage_weight and output_weight must be >= 0")

    def check_compatible(self, teacher, student) -> None:
        aligned_widths(teacher, student)

    def setup(self, ctx) -> None:
        widths = aligned_widths(ctx.teacher, ctx.student)
        self.adapters_in: list[nn.Module | None] = [None]  # stage 0 reads z itself
        self.adapters_out: list[nn.Module | None] = []
        for i, (teacher_width, student_width, rank) in enumerate(widths):
            if i + 1 < len(widths):
                self.adapters_in.append(_adapter(ctx, f"in{i + 1}", teacher_width, student_width,
                                                 rank))
            self.adapters_out.append(_adapter(ctx, f"out{i}", student_width, teacher_width, rank))
        self.teacher_stages = ctx.teacher.stages
        self.student_stages = ctx.student.stages

    def generator_loss(self, step) -> dict[str, torch.Tensor]:
        if step.progress < self.lit_fraction:
            return self._stage_losses(step.z)
        return {"output": self.output_weight * F.mse_loss(step.fake, step.teacher(step.z))}

    def _stage_losses(self, z: torch.Tensor) -> dict[str, torch.Tensor]:
        with torch.no_grad():
            teacher_outputs = []
            x = z
            for stage in self.teacher_stages:
                x = stage(x)
                teacher_outputs.append(x)
        losses = {}
        for i, stage in enumerate(self.student_stages):
            teacher_input = z if i == 0 else teacher_outputs[i - 1]
            student_output = stage(_maybe(self.adapters_in[i], teacher_input))
            prediction = _maybe(self.adapters_out[i], student_output)
            losses[f"stage{i}"] = self.stage_weight * F.mse_loss(prediction, teacher_outputs[i])
        return losses


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
