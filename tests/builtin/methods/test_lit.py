"""``lit`` (Koratana et al. 2019): each student stage is fed the teacher's previous stage output."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from akdgbench import Generator, UsageError
from akdgbench.builtin.methods.lit import LIT


class Recording(nn.Module):
    def __init__(self, module: nn.Module) -> None:
        super().__init__()
        self.module = module
        self.inputs = []

    def forward(self, x):
        self.inputs.append(x)
        return self.module(x)


class Staged(Generator):
    def __init__(self, z_dim: int, *stages: nn.Module) -> None:
        super().__init__()
        self.z_dim = z_dim
        self.stages = nn.ModuleList(stages)
        self.layer_count = len(stages)


def flat(z_dim, *widths):
    torch.manual_seed(sum(widths))
    dims = [z_dim, *widths]
    pairs = zip(dims[:-1], dims[1:], strict=True)
    return Staged(z_dim, *(Recording(nn.Linear(a, b)) for a, b in pairs))


def conv(z_dim, width, spatial=4):
    return Staged(z_dim,
                  nn.Sequential(nn.Linear(z_dim, width * spatial**2),
                                nn.Unflatten(1, (width, spatial, spatial))),
                  nn.Conv2d(width, 1, 3, padding=1))


class Context:
    def __init__(self, teacher, student):
        self.teacher, self.student = teacher, student
        self.modules = {}

    def add_generator_module(self, name, module):
        self.modules[name] = module
        return module


class Step:
    def __init__(self, progress, student, teacher):
        self.progress = progress
        self.z = torch.randn(3, 4)
        self.fake = student(self.z)
        self.teacher_inputs = []
        self._teacher = teacher

    def teacher(self, z):
        self.teacher_inputs.append(z)
        return self._teacher(z)


def test_phase_one_feeds_each_student_stage_the_teacher_previous_output():
    teacher, student = flat(4, 6, 5, 3), flat(4, 6, 5, 3)
    method = LIT(stage_weight="2")
    ctx = Context(teacher, student)
    method.setup(ctx)
    assert ctx.modules == {}  # equal widths: no adapters
    step = Step(0.1, student, teacher)
    for stage in student.stages:
        stage.inputs.clear()
    losses = method.generator_loss(step)

    t0 = teacher.stages[0].module(step.z)
    t1 = teacher.stages[1].module(t0)
    t2 = teacher.stages[2].module(t1)
    assert torch.equal(student.stages[0].inputs[0], step.z)
    assert torch.equal(student.stages[1].inputs[0], t0)
    assert torch.equal(student.stages[2].inputs[0], t1)
    assert set(losses) == {"stage0", "stage1", "stage2"}
    assert torch.allclose(losses["stage0"], 2 * F.mse_loss(student.stages[0].module(step.z), t0))
    assert torch.allclose(losses["stage1"], 2 * F.mse_loss(student.stages[1].module(t0), t1))
    assert torch.allclose(losses["stage2"], 2 * F.mse_loss(student.stages[2].module(t1), t2))
    assert all(loss.requires_grad for loss in losses.values())  # gradients reach the student
    assert step.teacher_inputs == []  # phase 1 never runs the whole teacher


def test_adapters_bridge_widths_in_and_out():
    teacher, student = flat(4, 6, 6, 3), flat(4, 2, 2, 3)
    method = LIT()
    ctx = Context(teacher, student)
    method.setup(ctx)
    assert sorted(ctx.modules) == ["adapter_in1", "adapter_in2", "adapter_out0", "adapter_out1"]
    assert ctx.modules["adapter_in1"].weight.shape == (2, 6)  # teacher width -> student width
    assert ctx.modules["adapter_out0"].weight.shape == (6, 2)  # student width -> teacher width
    step = Step(0.0, student, teacher)
    losses = method.generator_loss(step)
    a = ctx.modules
    t0 = teacher.stages[0].module(step.z)
    t1 = teacher.stages[1].module(t0)
    t2 = teacher.stages[2].module(t1)
    s = [stage.module for stage in student.stages]
    assert torch.allclose(losses["stage0"], F.mse_loss(a["adapter_out0"](s[0](step.z)), t0))
    assert torch.allclose(losses["stage1"],
                          F.mse_loss(a["adapter_out1"](s[1](a["adapter_in1"](t0))), t1))
    assert torch.allclose(losses["stage2"], F.mse_loss(s[2](a["adapter_in2"](t1)), t2))


def test_conv_adapters_are_1x1():
    method = LIT()
    ctx = Context(conv(4, 8), conv(4, 3))
    method.setup(ctx)
    assert ctx.modules["adapter_out0"].kernel_size == (1, 1)
    assert ctx.modules["adapter_in1"].weight.shape == (3, 8, 1, 1)


def test_phase_two_distils_outputs_for_the_same_latent():
    teacher, student = flat(4, 6, 3), flat(4, 2, 3)
    method = LIT(lit_fraction="0.5", output_weight="0.5")
    method.setup(Context(teacher, student))
    step = Step(0.5, student, teacher)
    losses = method.generator_loss(step)
    assert step.teacher_inputs == [step.z]
    assert set(losses) == {"output"}
    assert torch.allclose(losses["output"], 0.5 * F.mse_loss(step.fake, teacher(step.z)))


@pytest.mark.parametrize(
    ("teacher", "student", "message"),
    [
        (flat(4, 6, 3), flat(4, 6, 6, 3), r"Staged \(2 stages\).*Staged \(3 stages\)"),
        (conv(4, 8), flat(4, 8, 16), "stage 0 .* outputs"),
        (conv(4, 8, spatial=4), conv(4, 8, spatial=2), r"only widths may differ"),
        (flat(5, 6, 3), flat(4, 6, 3), "z has 5 dimensions"),
    ],
)
def test_unaligned_pairs_are_refused(teacher, student, message):
    with pytest.raises(UsageError, match=message):
        LIT().check_compatible(teacher, student)


def test_bad_fraction_is_refused():
    with pytest.raises(UsageError, match="lit_fraction"):
        LIT(lit_fraction="1.5")
