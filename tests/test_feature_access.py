"""``step.student_features()`` / ``step.teacher_features(z)``: stage outputs through the engine."""

import pytest
import torch

from akdgbench import Method, UsageError
from akdgbench.builtin.methods._stages import stage_output_shapes
from akdgbench.engine import TrainSettings, train
from akdgbench.plugins import make

TEACHER = "dcgan:width=0.08:d_width=0.05:z_dim=16"
STUDENT = "dcgan:width=0.04:d_width=0.05:z_dim=16"


class FeatureProbe(Method):
    name = "feature-probe"
    needs_teacher = True

    def setup(self, ctx):
        self.d = ctx.new_discriminator("d")
        self.student_shapes = stage_output_shapes(ctx.student)
        self.teacher_shapes = stage_output_shapes(ctx.teacher)
        self.student_runs, self.teacher_runs = [], []
        ctx.student.stages[0].register_forward_pre_hook(lambda m, a: self.student_runs.append(1))
        ctx.teacher.stages[0].register_forward_pre_hook(lambda m, a: self.teacher_runs.append(1))
        self.checked = 0

    def discriminator_losses(self, step):
        features = step.student_features()
        assert features[-1] is step.fake
        assert not any(f.requires_grad for f in features)  # no generator graph in the D phase
        return {"d": step.adv.discriminator_loss(self.d, step.real, step.fake)}

    def generator_loss(self, step):
        runs_before = len(self.student_runs), len(self.teacher_runs)
        features = step.student_features()
        assert [tuple(f.shape[1:]) for f in features] == self.student_shapes
        assert features[-1] is step.fake and all(f.requires_grad for f in features)
        teacher_features = step.teacher_features(step.z)
        assert [tuple(f.shape[1:]) for f in teacher_features] == self.teacher_shapes
        assert not any(f.requires_grad for f in teacher_features)
        assert step.teacher(step.z) is teacher_features[-1]  # one teacher forward for both
        # one student forward (the one that made fake), one teacher forward
        assert (len(self.student_runs), len(self.teacher_runs)) == (runs_before[0] + 1,
                                                                     runs_before[1] + 1)
        self.checked += 1
        # a loss through an intermediate stage reaches the student's first stage
        return {"feature": features[0].pow(2).mean(),
                "adv": step.adv.generator_loss(self.d, step.fake)}


class TeacherlessProbe(Method):
    name = "teacherless-probe"

    def generator_loss(self, step):
        return step.teacher_features(step.z)[-1].mean()


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return make("dataset", "mnist5k:size=16", data_root=tmp_path_factory.mktemp("data"))


def run(tmp_path, dataset, method):
    teacher_arch = make("architecture", TEACHER, role="teacher")
    teacher = teacher_arch.build_generator(dataset.resolution, dataset.channels)
    return train(dataset=dataset, student_arch=make("architecture", STUDENT), method=method,
                 settings=TrainSettings(steps=2, batch_size=8, device="cpu", log_every=1),
                 out_dir=tmp_path, teacher=teacher, teacher_arch=teacher_arch, progress=False)


def test_stage_outputs_come_from_the_forwards_that_made_the_images(tmp_path, dataset):
    method = FeatureProbe()
    outcome = run(tmp_path, dataset, method)
    assert outcome.status == "done" and method.checked == 2


def test_teacher_features_need_a_teacher(tmp_path, dataset):
    with pytest.raises(UsageError, match="declare needs_teacher = True"):
        run(tmp_path, dataset, TeacherlessProbe())


def test_stage_outputs_compose_to_the_generator():
    generator = make("architecture", STUDENT).build_generator(16, 1).eval()
    z = torch.randn(3, 16)
    outputs = generator.stage_outputs(z)
    assert len(outputs) == len(generator.stages)
    assert torch.equal(outputs[-1], generator(z))


def test_every_step_member_is_documented():
    """As datasette does for hooks: what a method can call on ``step`` is in docs/plugins.md."""
    import re
    from pathlib import Path

    from akdgbench.method import Step

    docs = (Path(__file__).parent.parent / "docs" / "plugins.md").read_text()
    members = set(Step.__annotations__) | {
        name for name, value in vars(Step).items() if callable(value) and not name.startswith("_")}
    assert {"student_features", "teacher_features"} <= members
    undocumented = [name for name in sorted(members)
                    if not re.search(rf"`(step\.)?{name}[`(]", docs)]
    assert undocumented == []
