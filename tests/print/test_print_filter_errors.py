"""A filter that no event source accepts fails before any event is read."""
from pathlib import Path

import pytest
from click.testing import CliRunner

from scaptools.cli.main import cli

EXAMPLE = Path(__file__).resolve().parents[2] / "captures" / "example.scap"


@pytest.mark.parametrize("text, message", [
    ("ct.name=", "expected a string value"),
    ("ct.name = ConsoleLogin and", "LOAD_ERR_COMPILE_CONDITION"),
    ("ct.nme=x", "nonexistent field ct.nme"),
])
def test_bad_filter_on_a_plugin_capture_is_an_error(text, message):
    result = CliRunner().invoke(cli, ["print", str(EXAMPLE), text])
    assert result.exit_code == 1
    assert message in result.output
    assert "[cloudtrail]" not in result.output


def test_good_filter_selects_plugin_events():
    result = CliRunner().invoke(cli, ["print", str(EXAMPLE), "ct.name=ConsoleLogin"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines and all("ConsoleLogin" in line for line in lines)
