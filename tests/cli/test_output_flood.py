"""A script that floods its output: 200 MB in a tight loop, then a single 50 MB line and a
progress bar redrawn with ``\\r``, each with the metric at its very end.

The log is capped at ``MAX_LOG_BYTES``, the values are recorded exactly, and the tuner's
memory stays bounded: its peak resident size (``ru_maxrss`` of a process whose only child is
the ``sagetune tune`` run, which covers that tuner and its training job) is far below what
the output would take if any of it were held. The script writes in chunks, so it stays small
itself.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from cli_helpers import request, write_request, write_script

from sagetune.executors.subprocess import MAX_LOG_BYTES
from sagetune.store import open_store

FLOOD = r"""
import os
line = b"x" * 4095 + b"\n"
chunk = line * 256  # 1 MB of lines without a metric
for _ in range(200):
    os.write(1, chunk)
piece = b"y" * 1048576
for _ in range(50):  # one 50 MB line, the metric at its end
    os.write(1, piece)
os.write(1, b" validation:auc=0.123456\n")
redraws = (b"\r%5d/3000 [%-30s] validation:auc=0.1" % (k, b"#" * (k // 100)) for k in range(3000))
os.write(1, b"".join(redraws) + b"\rdone validation:auc=0.654321\n")
"""

# Peak resident size of the one child, in kB: RUSAGE_CHILDREN counts waited-for descendants.
PEAK = (
    "import resource, subprocess, sys; code = subprocess.run(sys.argv[1:]).returncode; "
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(code)"
)

# Measured: about 130 MB (the tuner's imports). The 50 MB line held as bytes and as text
# would pass the bound.
PEAK_BOUND_KB = 200 * 1024


@pytest.mark.slow
def test_a_flooding_script_is_capped_and_its_values_read_in_bounded_memory(
    tmp_path: Path,
) -> None:
    write_script(tmp_path / "src", FLOOD)
    db = tmp_path / "s.db"
    req = write_request(tmp_path, request("flood", max_jobs=1, parallel=1))
    cmd = [sys.executable, "-m", "sagetune", "tune", str(req), "--store", str(db)]
    res = subprocess.run(
        [sys.executable, "-c", PEAK, *cmd], capture_output=True, text=True, timeout=300
    )
    assert res.returncode == 0 and "Traceback" not in res.stderr, res.stderr
    peak_kb = int(res.stdout.splitlines()[-1])
    store = open_store(str(db))
    job = store.list_training_jobs("flood")[0]
    auc = [p.value for p in store.metric_points([job.name]) if p.metric_name == "validation:auc"]
    assert auc == [0.123456, 0.654321]
    assert job.status == "Completed" and job.objective == 0.654321
    log = store.training_job_dir("flood", job.name) / "log.txt"
    size = log.stat().st_size
    assert MAX_LOG_BYTES <= size <= MAX_LOG_BYTES + 64 * 1024, size  # a header, the note
    with open(log, "rb") as f:
        f.seek(-200, 2)
        assert f.read().endswith(b"[sagetune: log truncated at 50 MB]\n")
    assert peak_kb < PEAK_BOUND_KB, f"peak resident size {peak_kb} kB"
