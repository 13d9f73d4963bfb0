"""``scap merge``: a time-ordered output from inputs in any order, every event kept; two
hosts refused in one line naming both files; the tables of one host joined."""
from __future__ import annotations

import random
from collections import Counter

import pytest


@pytest.fixture
def shuffled(helpers, tmp_path):
    """400 plugin events in random time order, with repeated times."""
    rng = random.Random(18)
    stamps = [helpers.BASE + rng.randrange(0, 2_000) * 1_000_000 for _ in range(400)]
    events = [helpers.cloudtrail_event(i, ts) for i, ts in enumerate(stamps)]
    return helpers.write_capture(tmp_path / "shuffled.scap", events)


@pytest.fixture
def syscalls(helpers, tmp_path):
    """A syscall capture of one host, in time order, 1 ms between calls."""
    events = [e for i in range(300)
              for e in helpers.read_pair(100 + i % 3, 3, helpers.BASE + i * 1_000_000)]
    meta = [helpers.machine_block()] + helpers.tables({100: "nginx", 101: "sshd", 102: "cat"},
                                                      {100: {3: "/var/log/a"}}, {0: "root"})
    return helpers.write_capture(tmp_path / "sys.scap", events, meta)


def test_merge_of_unordered_inputs_is_time_ordered_and_keeps_every_event(
        helpers, shuffled, syscalls, tmp_path, monkeypatch):
    monkeypatch.setattr("scaptools.ops.timeorder.FAN_IN", 3)  # several levels of runs
    out = tmp_path / "m.scap"
    code, _out, err = helpers.scap("merge", shuffled, syscalls, "-w", out)
    assert code == 0, err
    merged = helpers.events_of(out)
    assert helpers.steps_back(merged) == 0
    inputs = helpers.events_of(shuffled) + helpers.events_of(syscalls)
    assert Counter(helpers.keys(merged)) == Counter(helpers.keys(inputs))


def test_merge_with_a_small_budget_spills_runs_and_keeps_ties_in_input_order(
        helpers, shuffled, syscalls, tmp_path):
    from scaptools.ops.merge import merge
    out = tmp_path / "m.scap"
    (tmp_path / "tmp").mkdir()
    written = merge([syscalls, shuffled], out, budget=4096, tmpdir=str(tmp_path / "tmp"))
    merged = helpers.events_of(out)
    inputs = helpers.events_of(syscalls) + helpers.events_of(shuffled)
    assert written == len(inputs)
    # a stable sort of the inputs one after the other: equal times keep input, then file order
    assert helpers.keys(merged) == helpers.keys(sorted(inputs, key=lambda e: e.ts))
    assert list((tmp_path / "tmp").iterdir()) == []  # the temporary runs are gone


def test_merge_refuses_two_hosts_that_differ_only_in_memory(helpers, tmp_path):
    meta = helpers.tables({7: "bash"}, {}, {})
    a = helpers.write_capture(tmp_path / "a.scap", helpers.read_pair(7, 0, helpers.BASE),
                              [helpers.machine_block()] + meta)
    b = helpers.write_capture(tmp_path / "b.scap", helpers.read_pair(7, 0, helpers.BASE + 5),
                              [helpers.machine_block(memory_size_bytes=16 << 30)] + meta)
    out = tmp_path / "x.scap"
    code, _out, err = helpers.scap("merge", a, b, "-w", out)
    lines = err.strip().splitlines()
    assert code == 1 and len(lines) == 1 and "Traceback" not in err
    assert str(a) in lines[0] and str(b) in lines[0] and "two hosts" in lines[0]
    assert not out.exists()


@pytest.mark.parametrize("boot", [0, None])
def test_merge_refuses_hosts_that_cannot_be_told_apart(helpers, tmp_path, boot):
    """Same name and hardware but no boot time (or no machine info at all)."""
    meta = helpers.tables({7: "bash"}, {}, {})
    machine = [] if boot is None else [helpers.machine_block(boot_ts_epoch=boot)]
    a = helpers.write_capture(tmp_path / "a.scap", helpers.read_pair(7, 0, helpers.BASE),
                              machine + meta)
    b = helpers.write_capture(tmp_path / "b.scap", helpers.read_pair(7, 0, helpers.BASE + 5),
                              machine + meta)
    code, _out, err = helpers.scap("merge", a, b, "-w", tmp_path / "x.scap")
    assert code == 1 and len(err.strip().splitlines()) == 1
    assert str(a) in err and str(b) in err and "cannot be told apart" in err


def test_merge_of_one_host_keeps_both_process_fd_and_user_tables(helpers, tmp_path):
    a = helpers.write_capture(
        tmp_path / "a.scap", helpers.read_pair(10, 3, helpers.BASE + 2_000_000),
        [helpers.machine_block()] + helpers.tables({10: "nginx"}, {10: {3: "/srv/a.log"}},
                                                   {0: "root"}))
    b = helpers.write_capture(
        tmp_path / "b.scap", helpers.read_pair(20, 4, helpers.BASE + 1_000_000),
        [helpers.machine_block()] + helpers.tables({20: "postgres"}, {20: {4: "/srv/b.db"}},
                                                   {999: "postgres"}))
    out = tmp_path / "m.scap"
    code, _out, err = helpers.scap("merge", a, b, "-w", out)
    assert code == 0, err
    code, text, err = helpers.scap("print", out, "-p", "%proc.name %fd.name %evt.dir")
    assert code == 0, err
    assert text.splitlines() == ["postgres /srv/b.db >", "postgres /srv/b.db <",
                                 "nginx /srv/a.log >", "nginx /srv/a.log <"]


def test_merge_refuses_to_overwrite_an_input(helpers, syscalls, shuffled):
    code, _out, err = helpers.scap("merge", syscalls, shuffled, "-w", shuffled)
    assert code == 1 and "overwrite" in err
    assert len(helpers.events_of(shuffled)) == 400


@pytest.mark.parametrize("chunk", [64, 1000])
def test_runs_are_read_back_across_chunk_ends(helpers, shuffled, syscalls, tmp_path,
                                              monkeypatch, chunk):
    """Runs read a chunk at a time: blocks cut by a chunk's end, and longer than a chunk."""
    from scaptools.ops.merge import merge
    monkeypatch.setattr("scaptools.ops.timeorder.CHUNK", chunk)
    out = tmp_path / "m.scap"
    merge([shuffled, syscalls], out, budget=10_000)
    inputs = helpers.events_of(shuffled) + helpers.events_of(syscalls)
    assert helpers.keys(helpers.events_of(out)) == helpers.keys(
        sorted(inputs, key=lambda e: e.ts))
