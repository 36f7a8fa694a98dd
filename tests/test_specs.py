import pytest

from akdgbench.errors import UsageError
from akdgbench.specs import Spec, parse_spec, resolve_options, split_specs


def test_parse_name_and_options():
    assert parse_spec("dcgan:width=0.25:z_dim=64") == Spec(
        "dcgan", {"width": "0.25", "z_dim": "64"}
    )
    assert parse_spec(" mlp ") == Spec("mlp", {})
    assert str(parse_spec("akdg:lambda=0.5")) == "akdg:lambda=0.5"


@pytest.mark.parametrize("bad", ["", ":width=1", "dcgan:width", "dcgan:=1", "dcgan:w=1:w=2"])
def test_malformed_specs(bad):
    with pytest.raises(UsageError, match="spec"):
        parse_spec(bad)


def test_split_lists():
    assert split_specs("dcgan:width=0.25,mlp") == ["dcgan:width=0.25", "mlp"]
    assert split_specs(["a,b", "c"]) == ["a", "b", "c"]
    assert split_specs(" , ") == []


def test_resolve_converts_to_default_types_and_applies_presets():
    defaults = {"width": 1.0, "blocks": 3, "sn": True, "kind": "x"}
    resolved = resolve_options(
        "arch 't'", defaults, {"blocks": "4", "sn": "false"}, preset={"width": 0.5}
    )
    assert resolved == {"width": 0.5, "blocks": 4, "sn": False, "kind": "x"}


def test_resolve_rejects_unknown_and_badly_typed_options():
    with pytest.raises(UsageError, match=r"unknown option 'depth'; known options: width"):
        resolve_options("architecture 'dcgan'", {"width": 1.0}, {"depth": "3"})
    with pytest.raises(UsageError, match=r"width='abc' is not a valid float"):
        resolve_options("architecture 'dcgan'", {"width": 1.0}, {"width": "abc"})
    with pytest.raises(UsageError, match="true/false"):
        resolve_options("m", {"flag": False}, {"flag": "maybe"})
