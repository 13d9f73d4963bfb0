"""Alert comparison: pairing by (time, rule), and what each kind of difference reports."""
from __future__ import annotations

from hypothesis import given, strategies as st

from scaptools.testing.runner import compare_alerts, compare_counts
from scaptools.testing.spec import AlertRecord

alerts = st.lists(st.builds(AlertRecord,
                            time=st.sampled_from(["2024-01-01T00:00:0%d.000000000Z" % i
                                                  for i in range(4)]),
                            rule=st.sampled_from(["A", "B", "C"]),
                            priority=st.sampled_from(["Warning", "Critical"]),
                            output=st.sampled_from(["x", "y"])), max_size=8)


@given(alerts, st.randoms())
def test_testing_same_alerts_in_any_order_match(expected, rnd):
    actual = list(expected)
    rnd.shuffle(actual)
    assert compare_alerts(expected, actual) == []
    assert compare_counts({}, actual, only=False) == []


@given(alerts, alerts)
def test_testing_every_alert_is_accounted_for(expected, actual):
    diff = compare_alerts(expected, actual)
    kinds = [line.split()[1] for line in diff if line[2:3] in "-+~"]
    missing, unexpected = kinds.count("missing"), kinds.count("unexpected")
    assert len(expected) - missing == len(actual) - unexpected  # paired on both sides
    assert (diff == []) == (sorted(expected, key=repr) == sorted(actual, key=repr))


def test_testing_changed_alert_shows_both_sides():
    old = AlertRecord("t", "R", "Warning", "old text")
    new = AlertRecord("t", "R", "Critical", "new text")
    assert compare_alerts([old], [new]) == [
        "  ~ changed     t  R", "                priority: expected Warning, actual Critical",
        "                output:   expected old text", "                          actual   new text"]
    assert compare_alerts([old], [new, old]) == [
        "  + unexpected  t  R (Critical)", "                new text"]
    assert compare_alerts([old], [], only=False) == [
        "  - missing     t  R (Warning)", "                old text"]
    assert compare_alerts([], [new], only=False) == []


def test_testing_identical_alerts_pair_before_changed_ones():
    a, b, c = (AlertRecord("t", "R", "Warning", text) for text in ("a", "b", "c"))
    assert compare_alerts([a, b], [b, c]) == [
        "  ~ changed     t  R", "                output:   expected a",
        "                          actual   c"]
