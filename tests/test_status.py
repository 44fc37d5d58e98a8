"""Tuning and training job states: one enum each, spelt as SageMaker spells them, and equal
to their plain strings so stored records, requests and answers keep working."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import sagetune
from sagetune.status import TrainingJobStatus, TuningJobStatus
from sagetune.store import TrainingJobRecord, TuningJobRecord, open_store
from sagetune.store.records import FINISHED, TRAINING_JOB_STATUSES

WORDS = ["InProgress", "Completed", "Failed", "Stopping", "Stopped"]


@pytest.mark.parametrize("enum", [TuningJobStatus, TrainingJobStatus])
def test_the_states_are_sagemakers_words_and_equal_their_strings(enum: type) -> None:
    assert [s.value for s in enum] == [s.name for s in enum] == WORDS
    for word in WORDS:
        member = enum(word)
        assert member == word and hash(member) == hash(word) and f"{member}" == word
        assert json.dumps({member: member}) == json.dumps({word: word})
    assert {s for s in enum if s.finished} == {"Completed", "Failed", "Stopped"}
    with pytest.raises(ValueError):
        enum("Running")


def test_both_are_exported_and_the_store_constants_are_made_of_them() -> None:
    assert sagetune.TuningJobStatus is TuningJobStatus
    assert sagetune.TrainingJobStatus is TrainingJobStatus
    assert TRAINING_JOB_STATUSES == tuple(WORDS)
    assert FINISHED == {"Completed", "Failed", "Stopped"}


def test_records_read_from_the_store_carry_the_enum(tmp_path: Path) -> None:
    store = open_store(tmp_path / "s.db")
    store.create_tuning_job(TuningJobRecord("t", "InProgress", {}, 1, 1.0, 1.0))
    store.create_training_job(
        TrainingJobRecord("t-001", "t", 1, TrainingJobStatus.InProgress, {}, 1.0)
    )
    assert store.update_training_job("t-001", status=TrainingJobStatus.Stopped, ended_at=2.0)
    tuning, (training,) = store.get_tuning_job("t"), store.list_training_jobs("t")
    assert tuning.status is TuningJobStatus.InProgress
    assert training.status is TrainingJobStatus.Stopped and training.finished
    assert store.get_training_job("t-001").status is TrainingJobStatus.Stopped
    assert type(training.status) is TrainingJobStatus and training.status == "Stopped"


def test_a_record_with_an_unknown_state_is_refused() -> None:
    with pytest.raises(ValueError, match="'Running' is not a valid TrainingJobStatus"):
        TrainingJobRecord("t-001", "t", 1, "Running", {}, 1.0)
