"""README's quick start runs as written."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_quick_start_runs_as_written(tmp_path: Path) -> None:
    code = re.search(r"## Quick start\n\n```python\n(.*?)```", README.read_text(), re.S)
    assert code is not None
    (tmp_path / "quickstart.py").write_text(code.group(1))
    res = subprocess.run(
        [sys.executable, "quickstart.py"], cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert re.match(r"^sagetune-\d{6}-\d{6}-[0-9a-f]{4}-\d{3}-[0-9a-f]{8}$", lines[0])
    assert "'max_depth'" in lines[1] and "'booster'" in lines[1]
    assert (tmp_path / "quickstart.db").exists()
