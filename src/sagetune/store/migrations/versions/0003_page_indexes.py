"""Indexes for the list operations and describe of a tuning job with thousands of training jobs.

ListTrainingJobsForHyperParameterTuningJob reads one page of a tuning job's training jobs
sorted by objective, creation time or status (ties by ``seq``); ListTrainingJobs the same
across tuning jobs (ties by name). With an index on ``(tuning_job_name, <sort key>, seq)`` the
store walks the page in order instead of reading and sorting every job, and describe finds the
best job (the first by objective, either way) from the same index. ``(created_at, name)`` and
``(status, name)`` serve ListTrainingJobs' orders and its status filter.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

INDEXES = {
    "ix_training_jobs_tuning_job_name_objective": ["tuning_job_name", "objective", "seq"],
    "ix_training_jobs_tuning_job_name_created_at": ["tuning_job_name", "created_at", "seq"],
    "ix_training_jobs_tuning_job_name_status": ["tuning_job_name", "status", "seq"],
    "ix_training_jobs_created_at": ["created_at", "name"],
    "ix_training_jobs_status": ["status", "name"],
}


def upgrade() -> None:
    for name, columns in INDEXES.items():
        op.create_index(name, "training_jobs", columns)


def downgrade() -> None:
    for name in reversed(INDEXES):
        op.drop_index(name, table_name="training_jobs")
