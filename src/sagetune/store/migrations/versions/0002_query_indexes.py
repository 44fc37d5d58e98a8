"""Indexes that match how the store is read: a tuning job's training jobs in ``seq`` order, and
one metric's points of given training jobs.

``list_training_jobs`` filters on ``tuning_job_name`` and sorts on ``seq``; with an index on
both, SQLite and PostgreSQL read the rows in order instead of sorting them, which every
describe, dashboard refresh and resume pays for. Curves, the stopping rules and the dashboard's
plots want one metric (the objective) of many jobs, and a job reporting several metrics for
many epochs makes most of its points irrelevant to them: ``(training_job_name, metric_name)``
lets such a query skip them. Each new index starts with the column of the single-column index
it replaces, so lookups on that column alone still use an index, and the old ones are dropped
rather than kept as dead weight on every insert.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_training_jobs_tuning_job_name_seq", "training_jobs", ["tuning_job_name", "seq"]
    )
    op.drop_index("ix_training_jobs_tuning_job_name", table_name="training_jobs")
    op.create_index(
        "ix_metric_points_training_job_name_metric_name",
        "metric_points",
        ["training_job_name", "metric_name"],
    )
    op.drop_index("ix_metric_points_training_job_name", table_name="metric_points")


def downgrade() -> None:
    op.create_index("ix_metric_points_training_job_name", "metric_points", ["training_job_name"])
    op.drop_index("ix_metric_points_training_job_name_metric_name", table_name="metric_points")
    op.create_index("ix_training_jobs_tuning_job_name", "training_jobs", ["tuning_job_name"])
    op.drop_index("ix_training_jobs_tuning_job_name_seq", table_name="training_jobs")
