"""The size of a tuning job's HTML report, and what it is made of.

    PYTHONPATH=src .venv/bin/python -m benchmarks.report_size TUNING_JOB --store URL

Prints the report's bytes, the inlined plotly.js (as the report packs it), everything else,
and each figure's JSON.
"""

from __future__ import annotations

import argparse
import json
import re
import tempfile
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tuning_job")
    parser.add_argument("--store", default=None)
    args = parser.parse_args()

    from sagetune.report import packed_plotly_js, write_report

    with tempfile.TemporaryDirectory() as tmp:
        text = write_report(args.tuning_job, Path(tmp) / "r.html", store=args.store).read_bytes()
    packed = packed_plotly_js().encode()
    js = len(packed) * text.count(packed)
    print(f"report      {len(text):>10,} bytes")
    print(f"plotly.js   {js:>10,} bytes ({text.count(packed)} copy, gzip and base64)")
    print(f"the rest    {len(text) - js:>10,} bytes")
    found = re.search(rb'<script type="application/json" id="figures">(.*?)</script>', text, re.S)
    if found:
        for kind, fig in json.loads(found.group(1)).items():
            print(f"  {kind:<11s}{len(json.dumps(fig, separators=(',', ':'))):>9,} bytes")


if __name__ == "__main__":
    main()
