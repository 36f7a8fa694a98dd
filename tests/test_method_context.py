"""What ``Method.setup`` can reach (``akdgbench.method.MethodContext``), datasette-style:
every member is documented in docs/plugins.md and has a ``test_ctx_<member>`` of its own."""

import re
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from torch import nn

from akdgbench import Method, UsageError, hookimpl, plugins
from akdgbench.cli import cli
from akdgbench.engine import TrainSettings, train
from akdgbench.method import MethodContext
from akdgbench.plugins import make

DOCS = Path(__file__).parent.parent / "docs" / "plugins.md"
CONTEXT_MEMBERS = sorted(
    {name for name in dir(MethodContext) if not name.startswith("_")}
    | set(MethodContext.__annotations__)
)
DATASET = "mnist5k:size=16"
TEACHER = "dcgan:width=0.08:d_width=0.05:z_dim=16"
STUDENT = "dcgan:width=0.04:d_width=0.05:z_dim=16"
STEPS = 3


class ContextProbe(Method):
    """Records what setup saw; trains a copy of the teacher's D against the student."""

    name = "test-context-probe"
    needs_teacher_discriminator = True

    def setup(self, ctx):
        self.ctx = ctx
        self.seen = {name: getattr(ctx, name) for name in (
            "student", "teacher", "student_arch", "teacher_arch", "device", "total_steps",
            "resolution", "channels")}
        self.student_was_training = ctx.student.training  # the engine sets eval mode at the end
        self.frozen = ctx.teacher_discriminator
        self.copy = ctx.copy_teacher_discriminator("d_copy")
        self.copy_at_start = {k: v.clone() for k, v in self.copy.state_dict().items()}
        self.d = ctx.new_discriminator("d")
        self.adapter = ctx.add_generator_module("adapter", nn.Linear(1, 1))

    def discriminator_losses(self, step):
        return {"d": step.adv.discriminator_loss(self.d, step.real, step.fake),
                "d_copy": step.adv.discriminator_loss(self.copy, step.teacher_sample(),
                                                      step.fake)}

    def generator_loss(self, step):
        return {"adv": step.adv.generator_loss(self.d, step.fake),
                "teacher_d": step.adv.generator_loss(self.frozen, step.fake),
                "copy": step.adv.generator_loss(self.copy, step.fake),
                "adapter": self.adapter(torch.ones(1, 1, device=step.fake.device)).pow(2).sum()}


class NoDeclaration(Method):
    name = "test-undeclared"
    needs_teacher = True

    def setup(self, ctx):
        ctx.teacher_discriminator  # noqa: B018 - the access itself must fail


class ProbePlugin:
    __name__ = "ProbePlugin"

    @hookimpl
    def register_methods(self, register):
        register(ContextProbe)
        register(NoDeclaration)


@pytest.fixture(scope="module", autouse=True)
def probe_plugin():
    plugins.pm.register(ProbePlugin(), name="context-probe-plugin")
    try:
        yield
    finally:
        plugins.pm.unregister(name="context-probe-plugin")


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return make("dataset", DATASET, data_root=tmp_path_factory.mktemp("data"))


def teacher_parts(dataset, seed=0):
    arch = make("architecture", TEACHER, role="teacher")
    torch.manual_seed(seed)
    return (arch, arch.build_generator(dataset.resolution, dataset.channels),
            arch.build_discriminator(dataset.resolution, dataset.channels))


def run(out_dir, dataset, method="test-context-probe", discriminator=True, seed=0, steps=STEPS):
    arch, generator, teacher_d = teacher_parts(dataset, seed)
    method = make("method", method)
    outcome = train(dataset=dataset, student_arch=make("architecture", STUDENT), method=method,
                    settings=TrainSettings(steps=steps, batch_size=8, device="cpu", log_every=1,
                                           checkpoint_every=1),
                    out_dir=out_dir, teacher=generator, teacher_arch=arch,
                    teacher_discriminator=teacher_d if discriminator else None, progress=False)
    return method, outcome, teacher_d


@pytest.fixture(scope="module")
def probed(tmp_path_factory, dataset):
    out_dir = tmp_path_factory.mktemp("probe")
    _, _, untouched = teacher_parts(dataset)
    method, outcome, teacher_d = run(out_dir, dataset)
    assert outcome.status == "done"
    return method, out_dir, teacher_d, untouched.state_dict()


# --- the rule: every member documented and tested ------------------------------------------


@pytest.mark.parametrize("member", CONTEXT_MEMBERS)
def test_every_context_member_is_documented(member):
    assert re.search(rf"`ctx\.{member}\b", DOCS.read_text()), f"ctx.{member} lacks docs"


@pytest.mark.parametrize("member", CONTEXT_MEMBERS)
def test_every_context_member_has_a_test(member):
    tests = "\n".join(p.read_text() for p in Path(__file__).parent.rglob("test_*.py"))
    assert re.search(rf"def test_ctx_{member}\b", tests), f"ctx.{member} has no test_ctx_{member}"


# --- one test per member ---------------------------------------------------------------------


def test_ctx_student(probed):
    method, *_ = probed
    student = method.seen["student"]
    assert method.student_was_training and all(p.requires_grad for p in student.parameters())
    assert student.z_dim == 16


def test_ctx_teacher(probed):
    method, *_ = probed
    teacher = method.seen["teacher"]
    assert not teacher.training and not any(p.requires_grad for p in teacher.parameters())


def test_ctx_student_arch(probed):
    arch = probed[0].seen["student_arch"]
    assert (arch.name, arch.config["width"], arch.role) == ("dcgan", 0.04, "student")


def test_ctx_teacher_arch(probed):
    arch = probed[0].seen["teacher_arch"]
    assert (arch.name, arch.config["width"], arch.role) == ("dcgan", 0.08, "teacher")


def test_ctx_device(probed):
    assert probed[0].seen["device"] == torch.device("cpu")


def test_ctx_total_steps(probed):
    assert probed[0].seen["total_steps"] == STEPS


def test_ctx_resolution(probed):
    assert probed[0].seen["resolution"] == 16


def test_ctx_channels(probed):
    assert probed[0].seen["channels"] == 1


def test_ctx_new_discriminator(probed):
    _, out_dir, *_ = probed
    saved = torch.load(out_dir / "checkpoint.pt", weights_only=True)
    assert set(saved["modules"]["discriminators"]) == {"d", "d_copy"}
    assert set(saved["optimizers"]["discriminators"]) == {"d", "d_copy"}


def test_ctx_add_generator_module(probed):
    method, out_dir, *_ = probed
    saved = torch.load(out_dir / "checkpoint.pt", weights_only=True)
    assert torch.equal(saved["modules"]["generator_modules"]["adapter"]["weight"],
                       method.adapter.weight.detach())


def test_ctx_teacher_discriminator(probed):
    method, _, teacher_d, untouched = probed
    frozen = method.frozen
    assert frozen is teacher_d  # frozen in place: no copy of the teacher's weights
    assert not frozen.training and not any(p.requires_grad for p in frozen.parameters())
    assert next(frozen.parameters()).device == torch.device("cpu")
    # trained against for three steps, it never changed (eval mode: no power iteration either)
    after = frozen.state_dict()
    assert all(torch.equal(after[key], untouched[key]) for key in untouched)


def test_ctx_copy_teacher_discriminator(probed):
    method, out_dir, _, untouched = probed
    assert all(torch.equal(method.copy_at_start[key], untouched[key]) for key in untouched)
    assert method.copy.training and all(p.requires_grad for p in method.copy.parameters())
    saved = torch.load(out_dir / "checkpoint.pt", weights_only=True)
    trained = saved["modules"]["discriminators"]["d_copy"]
    assert any(not torch.equal(trained[key], untouched[key]) for key in untouched)
    header = (out_dir / "train_log.csv").read_text().splitlines()[0].split(",")
    assert {"d.d_copy", "g.teacher_d", "g.copy"} <= set(header)


def test_needs_teacher_discriminator_implies_needs_teacher():
    assert ContextProbe.needs_teacher and not Method.needs_teacher_discriminator


def test_method_without_teacher_discriminator_is_refused_before_training(tmp_path, dataset):
    with pytest.raises(UsageError, match="needs the teacher's discriminator, but the teacher "
                                         "has none"):
        run(tmp_path / "out", dataset, discriminator=False)
    assert not (tmp_path / "out").exists()


def test_undeclared_use_names_the_flag(tmp_path, dataset):
    with pytest.raises(UsageError, match="does not declare needs_teacher_discriminator"):
        run(tmp_path, dataset, method="test-undeclared")


def test_resume_with_another_teacher_discriminator_is_refused(tmp_path, dataset):
    run(tmp_path, dataset, steps=2)
    resumed_method, outcome, _ = run(tmp_path, dataset, steps=2)  # the same one: finished
    assert outcome.status == "done"
    arch, generator, _ = teacher_parts(dataset)
    _, _, other_d = teacher_parts(dataset, seed=1)
    with pytest.raises(UsageError, match="teacher_discriminator_weights"):
        train(dataset=dataset, student_arch=make("architecture", STUDENT),
              method=make("method", "test-context-probe"),
              settings=TrainSettings(steps=2, batch_size=8, device="cpu", log_every=1,
                                     checkpoint_every=1),
              out_dir=tmp_path, teacher=generator, teacher_arch=arch,
              teacher_discriminator=other_d, progress=False)


# --- through the runner: the teacher's discriminator travels from its checkpoint -------------

# a plugins-dir file, so that cells run in worker processes see the method too
CRITIC_PLUGIN = """
from akdgbench import Method, hookimpl


class TeacherCritic(Method):
    name = "test-teacher-critic"
    needs_teacher_discriminator = True

    def setup(self, ctx):
        self.judge = ctx.teacher_discriminator
        self.d = ctx.copy_teacher_discriminator("d")

    def discriminator_losses(self, step):
        return {"d": step.adv.discriminator_loss(self.d, step.real, step.fake)}

    def generator_loss(self, step):
        return {"adv": step.adv.generator_loss(self.d, step.fake),
                "teacher_d": step.adv.generator_loss(self.judge, step.fake)}


@hookimpl
def register_methods(register):
    register(TeacherCritic)
"""
RUN = ["run", "--dataset", DATASET, "--teacher", TEACHER, "--arch", STUDENT,
       "--steps", "2", "--batch-size", "8", "--eval-samples", "200", "--eval-batch-size", "100",
       "--metrics", "fid", "--executor", "local:jobs=1", "--quiet"]


@pytest.fixture(scope="module")
def critic_plugins_dir(tmp_path_factory):
    directory = tmp_path_factory.mktemp("plugins")
    (directory / "teacher_critic.py").write_text(CRITIC_PLUGIN)
    try:
        yield directory
    finally:
        if plugins.pm.get_plugin("teacher_critic") is not None:
            plugins.pm.unregister(name="teacher_critic")
        plugins._loaded_dirs.discard(directory.resolve())


@pytest.fixture(scope="module")
def teacher_run(tmp_path_factory, dataset):
    out_dir = tmp_path_factory.mktemp("teacher")
    arch = make("architecture", TEACHER, role="teacher")
    outcome = train(dataset=dataset, student_arch=arch, method=make("method", "vanilla"),
                    settings=TrainSettings(steps=2, batch_size=8, device="cpu"),
                    out_dir=out_dir, progress=False)
    assert outcome.status == "done"
    return out_dir


def run_cli(plugins_dir, args):
    return CliRunner().invoke(cli, ["--plugins-dir", str(plugins_dir), *RUN, *args])


def test_generator_only_checkpoint_is_refused_before_training(tmp_path, teacher_run,
                                                              critic_plugins_dir):
    result = run_cli(critic_plugins_dir, [
        "--methods", "test-teacher-critic", "--teacher-checkpoint",
        str(teacher_run / "generator.pt"), "--out", str(tmp_path / "run")])
    assert result.exit_code == 2, result.output
    assert "needs the teacher's discriminator" in result.output
    assert "generator.pt holds the generator only" in result.output
    assert len(result.output.strip().splitlines()) == 1 and "Traceback" not in result.output
    assert not (tmp_path / "run").exists()


def test_lit_with_a_generator_only_checkpoint_is_refused_unless_d_init_is_fresh(
        tmp_path, teacher_run, critic_plugins_dir):
    checkpoint = ["--teacher-checkpoint", str(teacher_run / "generator.pt")]
    refused = run_cli(critic_plugins_dir, ["--methods", "lit", *checkpoint,
                                           "--out", str(tmp_path / "refused")])
    assert refused.exit_code == 2, refused.output
    assert "method 'lit' needs the teacher's discriminator" in refused.output
    assert not (tmp_path / "refused").exists()
    fresh = run_cli(critic_plugins_dir, ["--methods", "lit:d_init=fresh", *checkpoint,
                                         "--out", str(tmp_path / "fresh")])
    assert fresh.exit_code == 0, fresh.output


def test_training_checkpoint_gives_the_method_its_discriminator(tmp_path, teacher_run,
                                                                critic_plugins_dir):
    result = run_cli(critic_plugins_dir, [
        "--methods", "test-teacher-critic", "--teacher-checkpoint",
        str(teacher_run / "checkpoint.pt"), "--out", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    checkpoints = [path for path in (tmp_path / "run").rglob("checkpoint.pt")
                   if "test-teacher-critic" in str(path)]
    assert len(checkpoints) == 1
    saved = torch.load(checkpoints[0], weights_only=True)
    teacher_d = torch.load(teacher_run / "checkpoint.pt", weights_only=True)["modules"]
    from akdgbench.checkpoint import weights_digest

    arch = make("architecture", TEACHER, role="teacher")
    expected = arch.build_discriminator(16, 1)
    expected.load_state_dict(teacher_d["discriminators"]["d"])
    assert saved["fingerprint"]["teacher_discriminator_weights"] == weights_digest(expected)
