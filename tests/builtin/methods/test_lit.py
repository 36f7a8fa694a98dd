"""``lit`` (Koratana et al. 2019): both phases, loss by loss, and the discriminator's life."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from akdgbench import Generator, UsageError
from akdgbench.builtin.methods.lit import LIT, pseudo_inverse
from akdgbench.losses import make_adversarial_loss


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


class Discriminator(nn.Module):
    def __init__(self, features: int) -> None:
        super().__init__()
        torch.manual_seed(7)
        self.linear = nn.Linear(features, 1)

    def forward(self, x):
        return self.linear(x.flatten(1))


class Context:
    def __init__(self, teacher, student):
        self.teacher, self.student = teacher, student
        self.device = torch.device("cpu")
        self.modules = {}
        self.discriminators = {}

    def add_generator_module(self, name, module):
        self.modules[name] = module
        return module

    def new_discriminator(self, name, arch=None):
        features = self.student(torch.zeros(2, self.student.z_dim))[0].numel()
        self.discriminators[name] = Discriminator(features)
        self.fresh = [*getattr(self, "fresh", []), name]
        return self.discriminators[name]

    def copy_teacher_discriminator(self, name):
        self.copied = [*getattr(self, "copied", []), name]
        features = self.teacher(torch.zeros(2, self.teacher.z_dim))[0].numel()
        self.discriminators[name] = Discriminator(features)
        return self.discriminators[name]


class Step:
    def __init__(self, progress, student, teacher, z=None):
        self.progress = progress
        self.z = torch.randn(3, student.z_dim) if z is None else z
        self.real = torch.randn(3, teacher(self.z).shape[1])
        self.fake = student(self.z)
        self.adv = make_adversarial_loss("hinge")
        self.teacher_inputs = []
        self._teacher = teacher

    def teacher(self, z):
        self.teacher_inputs.append(z)
        return self._teacher(z)


def setup(teacher, student, **options):
    method, ctx = LIT(**options), Context(teacher, student)
    method.setup(ctx)
    for stage in student.stages:
        if isinstance(stage, Recording):
            stage.inputs.clear()
    return method, ctx


def test_phase_one_feeds_each_student_stage_the_teacher_previous_output():
    teacher, student = flat(4, 6, 5, 3), flat(4, 6, 5, 3)
    method, ctx = setup(teacher, student, beta="0.25")
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
    assert set(losses) == {"output", "stage0", "stage1", "stage2"}
    s = [stage.module for stage in student.stages]
    assert torch.allclose(losses["stage0"], 0.75 * F.mse_loss(s[0](step.z), t0))
    assert torch.allclose(losses["stage1"], 0.75 * F.mse_loss(s[1](t0), t1))
    assert torch.allclose(losses["stage2"], 0.75 * F.mse_loss(s[2](t1), t2))
    # LIT's output term: the student run end to end against the teacher's image
    assert torch.allclose(losses["output"], 0.25 * F.mse_loss(s[2](s[1](s[0](step.z))), t2))
    assert all(loss.requires_grad for loss in losses.values())  # gradients reach the student


def test_phase_one_hand_computed_on_scalars():
    """One-unit linear stages without bias: every term by hand."""
    def scalar_net(*weights):
        net = Staged(1, *(Recording(nn.Linear(1, 1, bias=False)) for _ in weights))
        with torch.no_grad():
            for stage, weight in zip(net.stages, weights, strict=True):
                stage.module.weight.fill_(weight)
        return net

    teacher, student = scalar_net(2.0, 3.0), scalar_net(1.0, 5.0)
    method, _ = setup(teacher, student)  # beta 0.5
    step = Step(0.0, student, teacher, z=torch.tensor([[1.0], [2.0]]))
    losses = method.generator_loss(step)
    # teacher: z -> 2z -> 6z; student: z -> z -> 5z, and stage 1 fed 2z gives 10z
    # MSE over z = 1, 2: mean((a - b)^2 * z^2) = (a - b)^2 * 2.5
    assert losses["stage0"].item() == pytest.approx(0.5 * (1 - 2) ** 2 * 2.5)
    assert losses["stage1"].item() == pytest.approx(0.5 * (10 - 6) ** 2 * 2.5)
    assert losses["output"].item() == pytest.approx(0.5 * (5 - 6) ** 2 * 2.5)


def test_adapters_bridge_widths_and_the_next_stage_reads_their_pseudo_inverse():
    teacher, student = flat(4, 6, 6, 3), flat(4, 2, 2, 3)
    method, ctx = setup(teacher, student)
    assert sorted(ctx.modules) == ["adapter_out0", "adapter_out1"]  # the image stage agrees
    assert ctx.modules["adapter_out0"].weight.shape == (6, 2)  # student width -> teacher width
    step = Step(0.0, student, teacher)
    losses = method.generator_loss(step)
    p0, p1 = ctx.modules["adapter_out0"], ctx.modules["adapter_out1"]
    t0 = teacher.stages[0].module(step.z)
    t1 = teacher.stages[1].module(t0)
    t2 = teacher.stages[2].module(t1)
    s = [stage.module for stage in student.stages]
    # stage i+1 reads argmin_s |P_i s - T_i|^2, the best output stage i can give
    best0 = torch.linalg.lstsq(p0.weight.detach(), t0.T).solution.T
    best1 = torch.linalg.lstsq(p1.weight.detach(), t1.T).solution.T
    assert torch.allclose(student.stages[1].inputs[-1], best0, atol=1e-5)
    assert torch.allclose(student.stages[2].inputs[-1], best1, atol=1e-5)
    assert torch.allclose(losses["stage0"], 0.5 * F.mse_loss(p0(s[0](step.z)), t0))
    assert torch.allclose(losses["stage1"], 0.5 * F.mse_loss(p1(s[1](best0)), t1), atol=1e-6)
    assert torch.allclose(losses["stage2"], 0.5 * F.mse_loss(s[2](best1), t2), atol=1e-6)
    losses["stage1"].backward()
    assert p0.weight.grad is None  # the inverse feeds stage 1 without training P_0 through it
    assert p1.weight.grad is not None


def test_a_student_stage_that_meets_its_stage_loss_hands_the_next_stage_its_training_input():
    """The stitched student is consistent: when S_0 reaches the optimum of its own IR term,
    S_1 receives end to end exactly the input it was trained on in phase 1."""
    teacher, student = conv(4, 8), conv(4, 3)
    method, ctx = setup(teacher, student)
    adapter = ctx.modules["adapter_out0"]
    assert adapter.kernel_size == (1, 1)
    with torch.no_grad():
        t0 = teacher.stages[0](torch.randn(5, 4))
    trained_on = method.student_input(1, t0)
    # the best S_0 output under its own loss, found by gradient descent, is that input
    s = torch.zeros_like(trained_on, requires_grad=True)
    optimizer = torch.optim.LBFGS([s], max_iter=200, line_search_fn="strong_wolfe")

    def closure():
        optimizer.zero_grad()
        loss = F.mse_loss(adapter(s), t0)
        loss.backward()
        return loss

    optimizer.step(closure)
    assert torch.allclose(s.detach(), trained_on, atol=1e-3)


def test_phase_two_is_the_adversarial_loss_of_the_stitched_student():
    teacher, student = flat(4, 6, 3), flat(4, 2, 3)
    method, ctx = setup(teacher, student, lit_fraction="0.5")
    d = ctx.discriminators["d"]
    step = Step(0.5, student, teacher)
    g = method.generator_loss(step)
    assert set(g) == {"adv"}
    assert torch.allclose(g["adv"], -d(step.fake).mean())  # hinge: -D(G_s(z))
    assert step.teacher_inputs == []  # phase 2 never asks the teacher
    d_losses = method.discriminator_losses(step)
    assert set(d_losses) == {"d"}
    expected = F.relu(1 - d(step.real)).mean() + F.relu(1 + d(step.fake)).mean()
    assert torch.allclose(d_losses["d"], expected)
    d_losses["d"].backward()
    assert d.linear.weight.grad is not None


def test_phase_one_gives_the_discriminator_no_gradient():
    teacher, student = flat(4, 6, 3), flat(4, 2, 3)
    method, ctx = setup(teacher, student)
    assert "d" in ctx.discriminators
    assert method.discriminator_losses(Step(0.49, student, teacher)) == {}  # D sits it out


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


def test_d_starts_as_the_teacher_discriminator_unless_d_init_is_fresh():
    teacher, student = flat(4, 6, 3), flat(4, 2, 3)
    method, ctx = setup(teacher, student)
    assert method.needs_teacher_discriminator  # so a teacher without one is refused early
    assert ctx.copied == ["d"] and not hasattr(ctx, "fresh")
    method, ctx = setup(teacher, student, d_init="fresh")
    assert not method.needs_teacher_discriminator and method.needs_teacher
    assert ctx.fresh == ["d"] and not hasattr(ctx, "copied")


@pytest.mark.parametrize(("option", "value"),
                         [("lit_fraction", "1.5"), ("beta", "-0.1"), ("d_init", "student")])
def test_bad_options_are_refused(option, value):
    with pytest.raises(UsageError, match=option):
        LIT(**{option: value})


class RecordingLIT(LIT):
    """LIT that keeps what the engine gave it, to watch D and the student between steps."""

    def setup(self, ctx):
        super().setup(ctx)
        self.student = ctx.student
        self.d_at_setup = snapshot(self.d)
        self.student_at_phase_two = None

    def generator_loss(self, step):
        if not self.in_phase_one(step) and self.student_at_phase_two is None:
            self.student_at_phase_two = weights(self.student)
        return super().generator_loss(step)


def snapshot(module):
    return {name: value.detach().clone() for name, value in module.state_dict().items()}


def weights(module):  # batch-norm statistics also move when D's fakes are made: not compared
    return {name: value.detach().clone() for name, value in module.named_parameters()}


def same(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[key], b[key]) for key in a)


@pytest.mark.parametrize("d_init", ["teacher", "fresh"])
def test_through_the_engine_d_trains_in_phase_two_only_from_the_phase_one_student(tmp_path,
                                                                                   d_init):
    from akdgbench.engine import TrainSettings, train
    from akdgbench.plugins import make

    dataset = make("dataset", "mnist5k:size=16", data_root=tmp_path / "data")
    teacher_arch = make("architecture", "dcgan:width=0.08:d_width=0.05:z_dim=16", role="teacher")
    torch.manual_seed(0)
    teacher = teacher_arch.build_generator(16, 1)
    teacher_d = teacher_arch.build_discriminator(16, 1)
    with torch.no_grad():  # weights no fresh discriminator has
        for parameter in teacher_d.parameters():
            parameter.fill_(0.01)
    teacher_d_weights = snapshot(teacher_d)
    method = RecordingLIT(lit_fraction="0.5", d_init=d_init)
    seen = {}

    def on_log(step, losses):
        seen[step] = (snapshot(method.d), weights(method.student), set(losses))

    settings = TrainSettings(steps=4, batch_size=8, device="cpu", log_every=1, n_dis=2,
                             checkpoint_every=0)
    outcome = train(dataset=dataset, student_arch=make("architecture",
                        "dcgan:width=0.04:d_width=0.05:z_dim=16"),
                    method=method, settings=settings, out_dir=tmp_path / "run", teacher=teacher,
                    teacher_arch=teacher_arch, teacher_discriminator=teacher_d, progress=False,
                    on_log=on_log)
    assert outcome.status == "done"
    assert same(method.d_at_setup, teacher_d_weights) == (d_init == "teacher")
    assert same(snapshot(teacher_d), teacher_d_weights)  # a copy trains, not the teacher's
    # steps 1-2 are phase 1: the student learns, D is exactly as built
    assert same(seen[1][0], method.d_at_setup) and same(seen[2][0], method.d_at_setup)
    assert {"g.stage0", "g.output"} <= seen[2][2]
    assert not same(seen[2][1], seen[1][1])
    # phase 2 starts from the phase-1 student, and D trains from then on
    assert same(method.student_at_phase_two, seen[2][1])
    assert "g.adv" in seen[3][2]
    assert not same(seen[3][0], method.d_at_setup)


@pytest.mark.parametrize("shape", [(6, 2), (2, 6), (5, 5)])
def test_the_pseudo_inverse_matches_torch(shape):
    torch.manual_seed(3)
    matrix = torch.randn(*shape)
    assert torch.allclose(pseudo_inverse(matrix), torch.linalg.pinv(matrix), atol=1e-4)
