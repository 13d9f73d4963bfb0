"""The --state journal's acknowledgements (scaptools/record/state.py)."""
from __future__ import annotations

from scaptools.record.state import RecordState


def test_a_message_acknowledged_twice_in_one_commit(tmp_path):
    """An SQS message that came back before its delete (visibility timeout) gives two
    checkpoints of one name in one commit; acknowledging both must not fail."""
    path = str(tmp_path / "state")
    state = RecordState(path, "sqs://q", "out.scap")
    state.load()
    state.commit(0, 3, 300, ["out.scap"], {}, ["sqs://q/m1", "sqs://q/m1", "sqs://q/m2"])
    assert set(state.unacked) == {"sqs://q/m1", "sqs://q/m2"}
    state.acked(["sqs://q/m1", "sqs://q/m1"])
    assert set(state.unacked) == {"sqs://q/m2"}
    again = RecordState(path, "sqs://q", "out.scap")
    again.load()
    assert set(again.unacked) == {"sqs://q/m2"}
    assert (again.index, again.events, again.size) == (0, 3, 300)
