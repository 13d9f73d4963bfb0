"""The fast recording paths give the same bytes as the plain ones.

* log decoding: the columnar path (one typed decode of every record head, the
  minute+second time cache) against the record-by-record path;
* the recorder: ``stream.batches()`` + ``CaptureWriter.write_plugin_events``
  against the plain iterator of PluginEvent written one event at a time.
"""
from __future__ import annotations

import calendar
import gzip
import json
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scaptools.record.recorder import Recorder, RecordOptions
from scaptools_plugins.cloudtrail import logfile, times
from scaptools_plugins.cloudtrail.logfile import decode_log, parse_event_time
from scaptools_plugins.cloudtrail.source import open_source, parse_init_config


def slow_decode(data: bytes, name: str):
    """decode_log forced onto the record-by-record path."""
    return decode_log(data, name, typed_heads=False)


def same_log(a, b):
    assert a.records == b.records
    assert (a.problems, a.bad_records, a.untimed) == (b.problems, b.bad_records, b.untimed)


@pytest.mark.parametrize("which", ["logset", "shared_logset"])
def test_record_fast_decode_equals_slow_on_logs(request, which):
    logset = request.getfixturevalue(which)
    for path, (data, records) in logset.files.items():
        fast = decode_log(data, str(path))
        same_log(fast, slow_decode(data, str(path)))
        assert len(fast.records) == len(logset.records([path]))  # a record without any time
        assert len(fast.records) + fast.bad_records == len(records)  # ...is left out


TIMES = ["2023-07-10T11:42:36Z", "2023-07-10T11:42:60Z", "2023-07-10T11:42:61Z",
         "2023-07-10t11:42:36Z", "2023-07-10 11:42:36Z", "2023-07-10T11:42:36z",
         "2023-07-10T11:42:36", "2023-07-10T11:42:36.5Z", "2023-07-10T11:42:36+02:00",
         "2023-13-10T11:42:36Z", "1969-12-31T23:59:59Z", "x", "", None, 5, [1], {"a": 1},
         "2023-07-10T11:42:3aZ", "2023-07-10T11:42: 6Z", "2024-02-29T00:00:00Z",
         "2023-02-29T00:00:00Z", "2023-07-10T11:42:36Zx", "2023-07-10T11:4236ZZ"]
RECORD = st.fixed_dictionaries(
    {"eventVersion": st.just("1.08")},
    optional={"eventTime": st.sampled_from(TIMES), "eventID": st.sampled_from(["a", "b", None, 3]),
              "nested": st.just({"eventTime": "2020-01-01T00:00:00Z", "eventID": "n"})})


@settings(max_examples=300, deadline=None)
@given(records=st.lists(st.one_of(RECORD, RECORD, RECORD, st.sampled_from([1, "s", None, [1]])),
                        max_size=6),
       style=st.sampled_from(["compact", "indent", "spaced", "lines"]), packed=st.booleans(),
       name=st.sampled_from(["f.json", "1_CloudTrail_us-east-1_20230710T1140Z_a.json"]))
def test_record_fast_decode_equals_slow(records, style, packed, name):
    if style == "compact":
        text = json.dumps({"Records": records}, separators=(",", ":"))
    elif style == "indent":
        text = json.dumps({"Records": records}, indent=2)
    elif style == "spaced":
        text = json.dumps({"Records": records})
    else:  # one record per line, as the benchmark file
        text = '{"Records":[' + ",\n".join(json.dumps(r, separators=(",", ":"))
                                           for r in records) + "]}"
    data = gzip.compress(text.encode()) if packed else text.encode()
    same_log(decode_log(data, name), slow_decode(data, name))


@settings(max_examples=500, deadline=None)
@given(st.integers(0, 4102444799))
def test_record_time_cache_matches_calendar(secs):
    y, mo, d, h, mi, s = __import__("time").gmtime(secs)[:6]
    text = f"{y:04d}-{mo:02d}-{d:02d}T{h:02d}:{mi:02d}:{s:02d}Z"
    assert parse_event_time(text) == calendar.timegm((y, mo, d, h, mi, s)) * 10**9
    assert times._canonical_times([text, text]) == [secs * 10**9] * 2


class PlainStream:
    """A source stream seen only through the iterator protocol (no batches())."""

    def __init__(self, stream):
        self.stream, self.stats = stream, stream.stats

    def __iter__(self):
        return iter(self.stream)


def _content(data: bytes) -> bytes:
    return gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data


@pytest.mark.parametrize("opts", [{}, {"sort": True}, {"max_events": 7}, {"gzip": True},
                                  {"rotate_events": 50}, {"sort": True, "max_events": 30}])
def test_record_batch_path_writes_the_same_bytes(logset, tmp_path, opts):
    src = tmp_path / "logs"
    logset.copy_to(src)
    outs = {}
    for how in ("plain", "batch"):
        stream = open_source(parse_init_config(""), str(src))
        out = tmp_path / how / "r.scap"
        out.parent.mkdir()
        summary = Recorder(PlainStream(stream) if how == "plain" else stream, 2,
                           RecordOptions(out=str(out), **opts)).run()
        # gzip member ends follow the commits, which follow the clock: compare the content
        outs[how] = ([_content(open(f, "rb").read()) for f in summary.files], summary.events,
                     summary.first_ts, summary.last_ts, stream.stats.duplicates)
    assert outs["plain"] == outs["batch"]
    assert outs["batch"][1] == opts.get("max_events", outs["batch"][1]) > 0


@pytest.fixture
def small_pieces(monkeypatch):
    """Decode every gzip file piece by piece, in pieces of a few records."""
    from scaptools_plugins.cloudtrail import cutting, pieces
    monkeypatch.setattr(logfile, "STREAM_MIN", 0)
    monkeypatch.setattr(logfile, "PLAIN_STREAM_MIN", 0)
    monkeypatch.setattr(cutting, "CHUNK", 64)
    monkeypatch.setattr(cutting, "PIECE", 1500)
    return pieces


@pytest.mark.parametrize("which", ["logset", "shared_logset"])
def test_record_piece_decoding_equals_whole_on_logs(request, which, small_pieces):
    logset = request.getfixturevalue(which)
    for path, (data, records) in logset.files.items():
        packed = data if data[:2] == b"\x1f\x8b" else gzip.compress(data)
        streamed = small_pieces.decode_streamed(packed, str(path))
        whole = slow_decode(packed, str(path))
        if records and all(isinstance(r, dict) for r in records) and not whole.bad_records:
            assert streamed is not None, path  # (no time for a record: decoded whole)
        if streamed is not None:
            same_log(streamed, whole)
        same_log(decode_log(packed, str(path)), whole)


def ct_record(i, nested=False):
    rec = {"eventVersion": "1.08", "userIdentity": {"type": "IAMUser"},
           "eventTime": f"2023-07-10T11:{i % 60:02d}:{i % 61:02d}Z", "eventID": f"id-{i}",
           "requestParameters": {"items": [{"eventVersion": "x"}, {"eventVersion": "y"}]
                                 if nested else None}}
    return json.dumps(rec, separators=(",", ":"))


@pytest.mark.parametrize("case", ["clean", "lines", "nested", "truncated", "garbage",
                                  "two members", "odd head", "not a record", "no start",
                                  "extra key", "empty", "cut", "one pretty"])
def test_record_piece_decoding_falls_back_exactly(small_pieces, case):
    recs = [ct_record(i, nested=case == "nested" and i % 3 == 0) for i in range(60)]
    if case == "odd head":
        recs[45] = recs[45].replace('"eventID":"id-45"', '"eventID":45')
    if case == "not a record":
        recs[50] = "[1,2]"
    if case == "one pretty":  # layout whitespace in one record: only that one is compacted
        recs[40] = json.dumps(json.loads(recs[40]), indent=1)
    sep = ",\n" if case == "lines" else ","
    text = '{"Records":[' + sep.join([] if case == "empty" else recs) + "]}"
    if case == "no start":
        text = " " + text
    if case == "extra key":
        text = text[:-1] + ',"x":1}'
    if case == "cut":
        text = text[:-400]
    data = gzip.compress(text.encode())
    if case == "truncated":
        data = data[:-200]
    if case == "garbage":
        data += b"garbage"
    if case == "two members":
        data += gzip.compress(b" ")
    streamed = small_pieces.decode_streamed(data, "f.json.gz")
    whole = slow_decode(data, "f.json.gz")
    assert (streamed is not None) == (case in ("clean", "lines", "nested", "two members",
                                               "empty", "one pretty"))
    if streamed is not None:
        same_log(streamed, whole)
    same_log(decode_log(data, "f.json.gz"), whole)
    assert len(whole.records) == {"empty": 0, "not a record": 59, "truncated": len(
        whole.records), "cut": len(whole.records)}.get(case, 60)


@pytest.mark.parametrize("limits", [{"rotate_size": 150_000}, {"rotate_events": 333},
                                    {"rotate_size": 150_000, "rotate_events": 100}])
def test_record_rotation_cuts_where_the_rule_says(logset, helpers, tmp_path, limits):
    """A file takes an event while it is empty or below both limits (sizes before gzip)."""
    src = next(iter(logset.files)).parent
    out = tmp_path / "r.scap"
    summary = Recorder(open_source(parse_init_config(""), str(src)), 2,
                       RecordOptions(out=str(out), **limits)).run()
    per_file = [helpers.read_events(f) for f in summary.files]
    max_bytes, max_events = limits.get("rotate_size", 0), limits.get("rotate_events", 0)
    for i, events in enumerate(per_file):
        size, sizes = 28, []  # the section header, then each event block (§2)
        for _, payload in events:
            sizes.append(size)
            size += 12 + ((38 + len(payload) + 5) & ~3)
        assert events and all(n < max_events or not max_events for n in range(len(events)))
        assert all(b < max_bytes for b in sizes[1:]) or not max_bytes
        if i < len(per_file) - 1:  # it was closed because it was full
            assert len(events) >= max_events > 0 or size >= max_bytes > 0
        assert summary.files[i] == f"{out}.{i}" and os.path.getsize(summary.files[i]) == size
    assert len(per_file) > 2 and sum(map(len, per_file)) == summary.events


def test_record_newline_scan_finds_one_loose_record_among_many():
    recs = [ct_record(i) for i in range(1200)]
    recs[700] = json.dumps(json.loads(recs[700]), indent=1)
    data = ('{"Records":[' + ",\n".join(recs) + "]}").encode()
    fast = decode_log(data, "f.json")
    same_log(fast, slow_decode(data, "f.json"))
    assert fast.records[700][1] == ct_record(700).encode()
    assert fast.records[699][1] == recs[699].encode()


@pytest.mark.parametrize("case", ["clean", "odd head", "not a record", "truncated", "untimed",
                                  "untimed then odd", "garbage"])
def test_record_parts_then_fallback_give_each_record_once(small_pieces, tmp_path, case):
    """A large gzip file is given piece by piece; when a later piece does not decode,
    the rest comes from the whole-file decoding: each record once, problems once."""
    recs = [ct_record(i) for i in range(60)]
    if case.startswith("untimed"):
        recs[30] = recs[30].replace('"eventTime":"2023-07-10T11:30:30Z"', '"eventTime":"x"')
    if case in ("odd head", "untimed then odd"):
        recs[45] = recs[45].replace('"eventID":"id-45"', '"eventID":45')
    if case == "not a record":
        recs[50] = "[1,2]"
    data = gzip.compress(('{"Records":[' + ",".join(recs) + "]}").encode())
    if case == "truncated":
        data = data[:-200]
    if case == "garbage":
        data += b"garbage"
    path = tmp_path / "f.json.gz"
    path.write_bytes(data)
    problems = []
    stream = open_source(parse_init_config(""), str(path), on_problem=problems.append)
    items = list(stream.batches())
    lists = [i for i in items if isinstance(i, list)]
    whole = slow_decode(data, str(path))
    assert len(lists) > 1  # given in parts
    assert [(ts, bytes(p)) for part in lists for ts, p in part] == [
        (ts, p) for ts, p, _ in whole.records]
    assert problems == [f"cloudtrail: {m}" for m in whole.problems]
    st = stream.stats
    assert (st.objects_done, st.objects_malformed, st.untimed, st.bad_records, st.records) == (
        1, bool(whole.problems), whole.untimed, whole.bad_records, len(whole.records))


@pytest.fixture(params=["helper", "helper fails", "no helper"])
def heads_helper(request, monkeypatch, small_pieces):
    """The heads of streamed files from a forked helper (heads.py), one that stops
    after its first message, or none."""
    from scaptools_plugins.cloudtrail import heads
    monkeypatch.setattr(heads, "HELPER_MIN", 0)
    monkeypatch.setattr(heads, "_cores", lambda: 2)
    if request.param == "no helper":
        monkeypatch.setattr(heads, "ENABLED", False)
    if request.param == "helper fails":  # dies after the heads of its first piece
        send = heads._send

        def send_once(fd, kind, body, sent=[]):
            if kind == heads._PIECE:
                if sent:
                    os._exit(3)
                sent.append(kind)
            send(fd, kind, body)
        monkeypatch.setattr(heads, "_send", send_once)
    return request.param


@pytest.mark.parametrize("packed", [True, False])
@pytest.mark.parametrize("case", ["clean", "lines", "untimed", "odd head", "not a record",
                                  "nested", "garbage", "pretty"])
def test_record_parts_with_heads_helper_equal_whole(heads_helper, case, packed):
    recs = [ct_record(i, nested=case == "nested" and i % 3 == 0) for i in range(80)]
    if case == "untimed":
        recs[30] = recs[30].replace('"eventTime":"2023-07-10T11:30:30Z"', '"eventTime":"x"')
        recs[61] = recs[61].replace('"eventTime":"2023-07-10T11:01:00Z"',
                                    '"eventTime":"2023-07-10 11:01:00"')
    if case == "odd head":
        recs[45] = recs[45].replace('"eventID":"id-45"', '"eventID":45')
    if case == "not a record":
        recs[50] = "[1,2]"
    if case == "pretty":
        recs[40] = json.dumps(json.loads(recs[40]), indent=1)
    text = ('{"Records":[' + (",\n" if case == "lines" else ",").join(recs) + "]}").encode()
    data = gzip.compress(text) if packed else text
    data += b"garbage" if case == "garbage" else b""
    whole = slow_decode(data, "f.json.gz")
    from scaptools_plugins.cloudtrail import pieces
    streamed = pieces.decode(data, "f.json.gz")
    same_log(streamed, whole)
    assert len(whole.records) == (79 if case == "not a record" else 80)


@settings(max_examples=500, deadline=None)
@given(st.tuples(st.sampled_from(["2023", "1969", "1970", "2024", "２０２３", "20x3"]),
                 st.sampled_from(["01", "02", "12", "13", "00", "٠٢"]),
                 st.sampled_from(["01", "28", "29", "30", "31", "32", "00"]),
                 st.sampled_from(["T", "t", " ", "x"]), st.sampled_from(["00", "23", "24", "٠١"]),
                 st.sampled_from([":", ";"]), st.sampled_from(["00", "59", "60", "5x"]),
                 st.sampled_from([":", "-"])))
def test_record_minute_base_matches_the_full_parser(parts):
    prefix = "{}-{}-{}{}{}{}{}{}".format(*parts)
    assert times._minute_base(prefix) == times._parse_full(prefix + "00Z")
