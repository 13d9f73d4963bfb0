"""The commands that write a capture spell their output option one way, ``-w OUT``, and a
help text that mentions OUT defines it; the commands that keep file order say so."""
from __future__ import annotations

import pytest
from click.testing import CliRunner

from scaptools.cli.main import cli

WRITERS = ["convert", "slice", "merge", "export", "record"]


def help_text(command: str) -> str:
    res = CliRunner().invoke(cli, [command, "--help"])
    assert res.exit_code == 0, res.output
    return res.output


@pytest.mark.parametrize("command", WRITERS)
def test_output_option_is_w_out(command):
    text = help_text(command)
    assert "-w OUT" in text and "--write" not in text


@pytest.mark.parametrize("command", ["convert", "slice", "print"])
def test_commands_that_keep_file_order_say_so(command):
    assert "order of FILE" in " ".join(help_text(command).split())


def test_merge_says_time_order():
    assert "in time order" in " ".join(help_text("merge").split())
