"""``scap info``: the earliest and latest time (not the first and last in file order),
whether the capture is in time order and how many times it steps back, and the
direction of enter and exit event types."""
from __future__ import annotations

import json


def test_info_reports_earliest_latest_and_steps_back(helpers, tmp_path):
    base = helpers.BASE
    stamps = [base + 5, base + 1, base + 9, base + 3, base + 7]  # two steps back
    path = helpers.write_capture(tmp_path / "u.scap", [helpers.cloudtrail_event(i, ts)
                                                       for i, ts in enumerate(stamps)])
    code, text, err = helpers.scap("info", path, "--json")
    assert code == 0, err
    report = json.loads(text)
    assert (report["earliest_ts"], report["latest_ts"]) == (base + 1, base + 9)
    assert report["time_ordered"] is False and report["inversions"] == 2
    code, text, err = helpers.scap("info", path)
    lines = text.splitlines()
    assert f"earliest event: 2023-11-14T22:13:20.000000001Z ({base + 1})" in lines
    assert f"latest event:   2023-11-14T22:13:20.000000009Z ({base + 9})" in lines
    assert "time order:     no, 2 events earlier than the event before them" in lines


def test_info_of_an_ordered_capture(helpers, tmp_path):
    events = helpers.read_pair(7, 3, helpers.BASE) + helpers.read_pair(7, 3, helpers.BASE + 10_000)
    path = helpers.write_capture(tmp_path / "o.scap", events)
    code, text, err = helpers.scap("info", path, "--json")
    report = json.loads(text)
    assert report["time_ordered"] is True and report["inversions"] == 0
    assert report["events_by_type"] == {"6 read (enter)": 2, "7 read (exit)": 2}
    code, text, err = helpers.scap("info", path)
    assert "time order:     yes" in text.splitlines()
    assert "  6 read (enter)" in text and "  7 read (exit)" in text


def test_info_names_types_without_a_pair_plainly(helpers, tmp_path):
    path = helpers.write_capture(tmp_path / "p.scap", [helpers.cloudtrail_event(0, 1)])
    report = json.loads(helpers.scap("info", path, "--json")[1])
    assert report["events_by_type"] == {"322 pluginevent": 1}


def test_info_of_a_capture_without_events(helpers, tmp_path):
    path = helpers.write_capture(tmp_path / "e.scap", [])
    report = json.loads(helpers.scap("info", path, "--json")[1])
    assert report["earliest_ts"] is None and report["time_ordered"] is True
