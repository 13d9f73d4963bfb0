"""``scap info`` and ``scap convert`` through click's runner."""
from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from scaptools.cli.main import cli

CAPTURES = Path(__file__).resolve().parents[2] / "captures"  # shipped with the repository


def info(path, *extra):
    result = CliRunner().invoke(cli, ["info", str(path), *extra])
    assert result.exit_code == 0, result.output
    return result.output


def test_info_json_sample(shared):
    report = json.loads(info(shared / "captures/libs-e2e/sample.scap", "--json"))
    assert report["format_version"] == ["1.2"] and report["byte_order"] == ["little"]
    assert report["compression"] == "none" and report["truncated"] is False
    assert report["events"] == 572
    assert report["blocks"] == {"SHB": 1, "MI": 1, "PL_V9": 1, "FDL_V2": 94, "IL_V2": 1,
                                "UL_V2": 1, "EV_V2": 572}
    # the counts of docs/format.md "Verification" for sample.scap
    assert report["metadata"] == {"processes": 94, "fds": 515, "interfaces": 6, "users": 34,
                                  "groups": 61}
    assert report["events_by_type"]["354 useradded"] == 34
    assert report["machine"]["hostname"] == "ubuntu2204.localdomain"
    assert report["first_ts"] <= report["last_ts"]


def test_info_text_v1_gzip_and_plugins(shared):
    text = info(shared / "captures/libs-e2e/curl_google.scap")
    assert "format version: 1.0" in text and "compression:    gzip" in text
    assert "54 processes, 316 fds, 5 interfaces, 31 users, 55 groups" in text
    assert "EV  " in text and "1536" in text
    report = json.loads(info(shared / "captures/libscap-plugin/cloudtrail_small.scap.gz",
                             "--json"))
    assert report["events_by_plugin"] == {"2": 41}
    assert report["blocks"] == {"SHB": 1, "EV_V2_LARGE": 41}


def test_info_reports_shb_options_file(shared):
    report = json.loads(info(shared / "captures/libs-e2e/curl_google_comments.scap", "--json"))
    assert report["events"] == 1536


def test_convert_to_stdout_and_back(tmp_path):
    src = CAPTURES / "example.scap"  # 13 CloudTrail records
    result = CliRunner().invoke(cli, ["convert", str(src), "-w", "-", "-z"])
    assert result.exit_code == 0
    out = tmp_path / "o.scap.gz"
    out.write_bytes(result.stdout_bytes)
    report = json.loads(info(out, "--json"))
    assert report["events"] == 13 and report["compression"] == "gzip"


def test_convert_refuses_to_overwrite_its_input(tmp_path):
    path = tmp_path / "c.scap"
    data = (CAPTURES / "syscall_shell.scap").read_bytes()
    path.write_bytes(data)
    result = CliRunner().invoke(cli, ["convert", str(path), "-w", str(path)])
    assert result.exit_code == 2 and "overwrite" in result.output
    assert path.read_bytes() == data


# processes / fd entries / interfaces / users / groups: docs/format.md "Verification"
METADATA_COUNTS = {
    "curl_google.scap": (54, 316, 5, 31, 55),
    "curl_google_comments.scap": (54, 316, 5, 31, 55),
    "sample.scap": (94, 515, 6, 34, 61),
    "single_ipv6_conn.scap": (154, 564, 13, 42, 72),
    "test_ipv6_client.scap": (58, 333, 5, 31, 55),
}


def test_metadata_counts_match_the_spec(shared):
    for name, counts in METADATA_COUNTS.items():
        report = json.loads(info(shared / "captures/libs-e2e" / name, "--json"))
        assert tuple(report["metadata"].values()) == counts, name
