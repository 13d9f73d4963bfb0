"""A ``-p`` format that no event source can print is a format error naming the field that is
wrong, found by trying the field set of every loaded source (not the first one tried)."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from scaptools.cli.main import cli
from scaptools.events.event import Event
from scaptools.format.writer import CaptureWriter


@pytest.fixture(scope="module")
def capture(tmp_path_factory):
    path = tmp_path_factory.mktemp("fmt") / "ct.scap"
    record = {"eventVersion": "1.08", "eventName": "ConsoleLogin", "eventID": "e-1",
              "eventSource": "signin.amazonaws.com", "eventTime": "2024-03-12T10:00:00Z"}
    with CaptureWriter(str(path)) as writer:
        writer.write(Event.plugin(1_710_237_600 * 10**9, 2, json.dumps(record).encode()))
    return path


def run(capture, fmt):
    res = CliRunner().invoke(cli, ["print", str(capture), "-p", fmt])
    return res.exit_code, res.stdout, res.stderr


@pytest.mark.parametrize("fmt", ["%ct.name %ct.bogus", "%ct.bogus %ct.name",
                                 "%evt.num %ct.bogus", "%ct.bogus"])
def test_the_unknown_field_is_named(capture, fmt):
    code, out, err = run(capture, fmt)
    lines = err.strip().splitlines()
    assert code == 1 and out == "" and len(lines) == 1
    assert "%ct.bogus" in lines[0] and "%ct.name" not in lines[0]
    assert "LOAD_ERR" not in lines[0] and "format" in lines[0]


def test_fields_of_two_sources_in_one_format(capture):
    code, _out, err = run(capture, "%proc.name %ct.name")
    assert code == 1 and "LOAD_ERR" not in err
    assert "%proc.name" in err and "%ct.name" in err and "source" in err


def test_a_good_plugin_format_still_prints(capture):
    code, out, err = run(capture, "%evt.num %ct.name")
    assert code == 0, err
    assert out == "1 ConsoleLogin\n"
