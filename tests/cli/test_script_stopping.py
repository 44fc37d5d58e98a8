"""Script jobs stopped mid-training by Hyperband through `sagetune tune`: the whole process
group ends, the stopped job keeps its last value, and `sagetune cost` reports the saving."""

from __future__ import annotations

import json
from pathlib import Path

from cli_helpers import request, sagetune, write_request, write_script

from sagetune.store import open_store

SCRIPT = """
import argparse, os, subprocess, time
p = argparse.ArgumentParser()
p.add_argument("--lr", type=float)
p.add_argument("--depth", type=int)
p.add_argument("--epochs", type=int)
args, _ = p.parse_known_args()
child = subprocess.Popen(["sleep", "120"])  # a helper in the same process group
with open(os.path.join(os.environ["SM_OUTPUT_DATA_DIR"], "child.pid"), "w") as f:
    f.write(str(child.pid))
for epoch in range(1, args.epochs + 1):
    auc = 0.9 - (args.lr - 0.1) ** 2 - 0.01 * (args.depth - 3) ** 2 + 0.01 * epoch
    print(f"epoch={epoch} validation:auc={auc:.5f}", flush=True)
    time.sleep(0.3)
child.kill()
"""


def live_members(pgid: int) -> list[int]:
    """Processes of a process group that are not zombies (a reaped or dead process is gone)."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            out.append(int(stat.parent.name))
    return out


def test_hyperband_stops_script_jobs_and_their_process_groups_end(tmp_path: Path) -> None:
    write_script(tmp_path / "src", SCRIPT)
    req = request("hb-script", max_jobs=6, parallel=2, strategy="Hyperband", static={"epochs": "6"})
    req["HyperParameterTuningJobConfig"]["StrategyConfig"] = {
        "HyperbandStrategyConfig": {"MinResource": 1}
    }  # MaxResource from epochs
    req["LocalPricing"] = {"InstancePricesPerHour": {"ml.m5.xlarge": 0.23}}
    store_url = f"sqlite:///{tmp_path / 'tuning.db'}"
    res = sagetune("tune", str(write_request(tmp_path, req)), store=store_url, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    jobs = open_store(store_url).list_training_jobs("hb-script")
    stopped = [j for j in jobs if j.status == "Stopped"]
    assert stopped, [(j.status, j.epochs_completed) for j in jobs]
    for job in jobs:
        child = int((Path(job.log_path).parent / "output" / "data" / "child.pid").read_text())
        assert live_members(job.process_id) == []  # the script and its helper are gone
        assert child not in live_members(job.process_id)
    for job in stopped:
        assert job.early_stopped and job.epochs_completed < 6
        assert "stopped by Hyperband at the rung of epoch" in job.failure_reason
        points = [p for p in open_store(store_url).metric_points([job.name])]
        assert job.objective == points[-1].value
    assert all(j.epochs_completed == 6 for j in jobs if j.status == "Completed")
    res = sagetune("cost", "hb-script", "--json", store=store_url)
    data = json.loads(res.stdout)
    assert data["EarlyStoppedTrainingJobs"] == len(stopped)
    assert data["EpochsNotRun"] == sum(6 - j.epochs_completed for j in stopped)
    assert data["TotalCost"] > 0 and data["EstimatedSavedSeconds"] > 0
