"""scripts/digits_metric_sensitivity.py: the README's table of how digits-FID reacts to damage."""

import importlib.util
import sys
from pathlib import Path

import pytest
import torch

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "digits_metric_sensitivity.py"


@pytest.fixture(scope="module")
def sensitivity():
    spec = importlib.util.spec_from_file_location("digits_metric_sensitivity", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.modules.pop(spec.name, None)


def test_blur_scores_far_worse_than_clean_digits(sensitivity, tmp_path):
    scores = sensitivity.measure_sensitivity(["none", "blur-2.0"], limit=200, seed=0,
                                             cache_dir=tmp_path)
    clean, blurred = scores
    assert (clean.transform, blurred.transform) == ("none", "blur-2.0")
    assert clean.images == blurred.images == 200
    assert blurred.fid > 10 * clean.fid
    assert blurred.inception_score < clean.inception_score / 2
    table = sensitivity.markdown_table(scores)
    assert f"| Gaussian blur σ=2.0 | 200 | {blurred.fid:.1f} |" in table


def test_size_draws_the_digits_at_that_resolution(sensitivity, tmp_path):
    digits = sensitivity.load_training_digits(
        sensitivity.make("dataset", "mnist5k:size=16", data_root="."), limit=20, seed=0)
    assert digits.images.shape == (20, 1, 16, 16)
    (clean,) = sensitivity.measure_sensitivity(["none"], limit=200, seed=0, cache_dir=tmp_path,
                                               size=16)
    (full,) = sensitivity.measure_sensitivity(["none"], limit=200, seed=0, cache_dir=tmp_path)
    assert clean.images == 200 and clean.fid != full.fid  # scored against 16x16 held-out digits


def test_transforms_keep_or_drop_the_right_digits(sensitivity):
    labels = torch.arange(10).repeat_interleave(4)
    # every image one flat value: 10 * its digit + its place within the digit (0..3)
    values = 10 * labels + torch.arange(4).repeat(10)
    images = values.float().view(-1, 1, 1, 1).expand(-1, 1, 4, 4).contiguous()
    digits = sensitivity.Digits(images, labels)
    rng = torch.Generator().manual_seed(0)
    assert len(sensitivity.TRANSFORMS["digits-0-4"][1](digits, rng)) == 20
    only_ones = sensitivity.TRANSFORMS["digit-1"][1](digits, rng)
    assert sorted(only_ones[:, 0, 0, 0].tolist()) == [10, 11, 12, 13]
    # the mean of 4 distinct same-class digits: each class's four values averaged
    means = sensitivity.TRANSFORMS["mean-of-4"][1](digits, rng)
    assert torch.equal(means[:, 0, 0, 0], 10 * labels + 1.5)
    pairs = sensitivity.TRANSFORMS["mean-of-2"][1](digits, rng)[:, 0, 0, 0]
    # each digit in exactly two pairs, with another digit of its class
    assert torch.equal(pairs.view(10, 4).sum(dim=1), values.float().view(10, 4).sum(dim=1))
    assert bool(((pairs - 10 * labels >= 0.5) & (pairs - 10 * labels <= 2.5)).all())
    noisy = sensitivity.TRANSFORMS["noise-0.3"][1](digits, rng)
    assert noisy.min() >= -1 and noisy.max() <= 1


def test_unknown_transform_is_one_line_and_status_2(sensitivity, capsys):
    assert sensitivity.main(["--transforms", "none,smudge"]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "'smudge'" in error and "blur-2.0" in error
