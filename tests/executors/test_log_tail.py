"""The log tail a FailureReason carries names the last Python exception."""

from __future__ import annotations

from pathlib import Path

from sagetune.executors.base import last_python_exception, log_tail

TRACEBACK = """Traceback (most recent call last):
  File "train.py", line 3, in <module>
    model.fit(x)
    ^^^^^^^^^^^^
ValueError: Input contains NaN
"""


def test_a_native_backtrace_after_the_traceback_does_not_hide_the_exception(
    tmp_path: Path,
) -> None:
    log = tmp_path / "log.txt"
    native = "".join(f"#{i} 0x7f00 in libxgboost.so (frame {i})\n" for i in range(60))
    log.write_text("epoch 1\n" + TRACEBACK + native)
    tail = log_tail(log)
    assert tail.startswith("last Python exception: ValueError: Input contains NaN\n...\n")
    assert tail.endswith("(frame 59)")


def test_a_tail_that_shows_the_exception_is_left_as_it_is(tmp_path: Path) -> None:
    log = tmp_path / "log.txt"
    log.write_text("epoch 1\n" + TRACEBACK)
    assert log_tail(log) == ("epoch 1\n" + TRACEBACK).strip()[-600:].strip()
    assert last_python_exception("no traceback here") is None
    chained = (
        TRACEBACK
        + "\nDuring handling of the above exception:\n\n"
        + TRACEBACK.replace("ValueError: Input contains NaN", "RuntimeError: fit failed")
    )
    assert last_python_exception(chained) == "RuntimeError: fit failed"
