"""A unique key on metric points: one row per job, metric, step and time.

A point's natural key is ``(training_job_name, metric_name, step, timestamp)``. The step alone
does not do: a retried training job (``MaxRetryAttempts``) counts its steps from 1 again under
the same name, and both attempts' points are kept; they differ in time. A store written before
this revision may hold the same point twice (an insert retried after a commit whose answer was
lost): the first one recorded is kept. The unique index then lets a retried insert skip the
points already there (``INSERT ... ON CONFLICT DO NOTHING``), and it replaces the index on
``(training_job_name, metric_name)``, its prefix.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

KEY = "ux_metric_points_point"
KEY_COLUMNS = ["training_job_name", "metric_name", "step", "timestamp"]
REPLACED = "ix_metric_points_training_job_name_metric_name"


def upgrade() -> None:
    points = sa.table("metric_points", sa.column("id"), *(sa.column(c) for c in KEY_COLUMNS))
    kept = points.alias("kept")
    # Each duplicate is found through the (training_job_name, metric_name) index, not a sort.
    op.execute(
        sa.delete(points).where(
            sa.exists().where(
                *(kept.c[c] == points.c[c] for c in KEY_COLUMNS), kept.c.id < points.c.id
            )
        )
    )
    op.create_index(KEY, "metric_points", KEY_COLUMNS, unique=True)
    op.drop_index(REPLACED, table_name="metric_points")


def downgrade() -> None:
    op.create_index(REPLACED, "metric_points", ["training_job_name", "metric_name"])
    op.drop_index(KEY, table_name="metric_points")
