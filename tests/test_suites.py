import pytest
from click.testing import CliRunner

from akdgbench.cli import cli
from akdgbench.errors import UsageError
from akdgbench.run_settings import RUN_DEFAULTS, parse_seeds, resolve_settings
from akdgbench.suites import BUILTIN_SUITES_DIR, available_suites, load_suite


def test_builtin_suites_parse_with_known_keys():
    suites = available_suites()
    assert {"quick", "digits", "paper-cifar10", "paper-lsun-bedroom"} <= set(suites)
    for name in suites:
        data = load_suite(name, set(RUN_DEFAULTS))
        assert data["description"], f"suite {name} lacks a description"


#: every key of the training recipe; a suite that leaves one out gets the family's default,
#: so teacher and students (or two student families) could silently train differently
RECIPE_KEYS = ("loss", "lr", "betas", "n_dis", "lr_decay", "batch_size", "ema")


@pytest.mark.parametrize("path", sorted(BUILTIN_SUITES_DIR.glob("*.toml")), ids=lambda p: p.stem)
def test_every_shipped_suite_states_its_whole_recipe(path):
    data = load_suite(str(path), set(RUN_DEFAULTS))
    missing = [key for key in RECIPE_KEYS if data.get(key) is None]
    assert not missing, f"suite {path.stem} leaves {missing} to the architecture family defaults"
    assert set(RECIPE_KEYS) <= set(RUN_DEFAULTS)


def test_suites_command_lists_one_line_each():
    result = CliRunner().invoke(cli, ["suites"])
    assert result.exit_code == 0
    lines = result.output.strip().splitlines()
    assert any(line.startswith("quick") for line in lines)
    assert len(lines) == len(available_suites())


def test_cli_values_override_the_suite():
    settings = resolve_settings("quick", {"methods": "akdg,mse", "arch": "sngan", "steps": 7})
    assert settings.methods == ["akdg", "mse"]
    assert settings.arch == ["sngan"]
    assert settings.steps == 7
    quick = load_suite("quick", set(RUN_DEFAULTS))
    assert settings.teacher_steps == quick["teacher_steps"]


def test_toml_error_names_line_and_column(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('description = "x"\nsteps = = 3\n')
    with pytest.raises(UsageError, match=r"TOML error: .*line 2, column"):
        resolve_settings(str(bad), {})


def test_unknown_key_is_named_with_the_known_ones(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('description = "x"\nstpes = 3\n')
    with pytest.raises(
        UsageError, match=r"unknown key 'stpes' \(did you mean 'steps'\?\); known keys"
    ):
        resolve_settings(str(bad), {})


def test_unknown_suite_name():
    with pytest.raises(UsageError, match=r"unknown suite 'quik'.*did you mean 'quick'"):
        resolve_settings("quik", {})


@pytest.mark.parametrize(
    ("value", "seeds"), [(3, [0, 1, 2]), ("3", [0, 1, 2]), ("0,5", [0, 5]), ([1, 2], [1, 2])]
)
def test_seeds(value, seeds):
    assert parse_seeds(value) == seeds


def test_student_steps_per_family_and_a_command_line_steps_replaces_them(tmp_path):
    suite = tmp_path / "budgets.toml"
    suite.write_text('description = "x"\nsteps = 100\n[student_steps]\nmlp = 300\n')
    config = resolve_settings(str(suite), {})
    assert config.steps_for("mlp:width=0.5") == 300 and config.steps_for("dcgan") == 100
    config = resolve_settings(str(suite), {"steps": 7})
    assert config.steps_for("mlp") == 7 and config.steps_for("dcgan") == 7


@pytest.mark.parametrize("value", ["0", "-3", '"many"', "true"])
def test_bad_student_steps(tmp_path, value):
    suite = tmp_path / "budgets.toml"
    suite.write_text(f'description = "x"\n[student_steps]\nmlp = {value}\n')
    with pytest.raises(UsageError, match="student_steps.mlp must be a positive integer"):
        resolve_settings(str(suite), {})


def test_seed_zero_alone_is_a_list():
    assert parse_seeds("0,") == [0]
    with pytest.raises(UsageError, match=r"count of no seeds.*the list 0,"):
        parse_seeds("0")


@pytest.mark.parametrize("value", ["x", "0", "-1,2"])
def test_bad_seeds(value):
    with pytest.raises(UsageError, match="seeds"):
        parse_seeds(value)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"steps": 0}, "steps must be a positive integer"),
        ({"steps": -5}, "steps must be a positive integer"),
        ({"teacher_steps": 0}, "teacher-steps must be a positive integer"),
        ({"methods": ","}, "the grid is empty"),
        ({"eval_samples": 0}, "eval-samples must be positive"),
    ],
)
def test_bad_settings(override, message):
    with pytest.raises(UsageError, match=message):
        resolve_settings("quick", override)


def test_digits_more_can_grow_a_digits_run():
    """Same teacher, recipe and budgets: a digits run directory accepts digits-more's cells."""
    from akdgbench.run_settings import MEANING_KEYS

    digits = resolve_settings("digits", {})
    more = resolve_settings("digits-more", {})
    assert {key: getattr(digits, key) for key in MEANING_KEYS} == {
        key: getattr(more, key) for key in MEANING_KEYS}
    assert (digits.dataset, digits.teacher, digits.arch) == (more.dataset, more.teacher, more.arch)
    assert set(more.methods) - set(digits.methods) == {"feature-kd", "tinygan", "ssgc", "dcd"}


def test_no_suite_names_a_precision_or_memory_format_but_auto():
    for name in available_suites():
        suite = load_suite(name, set(RUN_DEFAULTS))
        assert suite.get("precision", "auto") == "auto", name
        assert suite.get("channels_last", "auto") == "auto", name
