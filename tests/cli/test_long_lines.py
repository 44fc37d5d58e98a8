"""Metric lines as real training output writes them: very long, redrawn with \\r, CRLF."""

from __future__ import annotations

from pathlib import Path

from cli_helpers import request, sagetune, write_request, write_script

from sagetune.executors.subprocess import LineReader
from sagetune.store import open_store

HOSTILE = r"""
import sys
out = sys.stdout
# 1: the value ends just past a 64 KiB boundary (it used to be cut to 0.12)
out.write("x" * (65536 - 19) + "validation:auc=0.123456\n")
# 2: a progress bar redrawn 3,000 times with \r; the line is its last redraw
for k in range(3000):
    out.write(f"\r{k:5d}/3000 [{'#' * (k // 100):30s}] validation:auc=0.1")
out.write("\rdone validation:auc=0.654321\n")
# 3: 300 kB of junk with the metric at the very end
out.write("junk " * 60000 + "validation:auc=0.777777\n")
# 4: a Windows line ending
out.write("validation:auc=0.5\r\n")
# 5: non-UTF-8 bytes around a value, and a last line without a newline
sys.stdout.flush()
sys.stdout.buffer.write(b"\xff\xfe validation:auc=0.25 \xc3")
"""


def test_each_line_gives_the_value_a_terminal_would_show(tmp_path: Path) -> None:
    write_script(tmp_path / "src", HOSTILE)
    store = f"sqlite:///{tmp_path / 't.db'}"
    req = request("lines", max_jobs=1, parallel=1)
    res = sagetune("tune", str(write_request(tmp_path, req)), store=store, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    st = open_store(store)
    job = st.list_training_jobs("lines")[0]
    auc = [p.value for p in st.metric_points([job.name]) if p.metric_name == "validation:auc"]
    assert auc == [0.123456, 0.654321, 0.777777, 0.5, 0.25]
    assert job.status == "Completed" and job.objective == 0.25


def test_the_reader_keeps_both_ends_of_an_overlong_line_in_bounded_memory() -> None:
    reader = LineReader(limit=16)
    lines = reader.feed(b"head=1 " + b"." * 10_000 + b" tail=2\nshort\n")
    assert lines[0] == ["head=1 " + "." * 9, "." * 9 + " tail=2"]
    assert lines[1] == ["short"]
    assert len(reader._tail) == 0 and reader.close() == []


def test_a_value_split_across_reads_is_whole() -> None:
    reader = LineReader()
    assert reader.feed(b"loss=0.12") == []
    assert reader.feed(b"3456\r") == []
    assert reader.feed(b"\nloss=1") == [["loss=0.123456"]]  # \r\n ends the line
    assert reader.feed(b"\rloss=2") == []  # the carriage returns: loss=1 is redrawn over
    assert reader.close() == [["loss=2"]]
