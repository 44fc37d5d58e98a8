"""The schema of sagetune 0.1 (commit 6b94b04), and the adoption of stores made before Alembic.

Stores written before migrations existed have these tables but no ``alembic_version``; the
oldest of them also lack columns added since (``owner``, ``heartbeat_at``, ``train_payload``,
``process_id``, ``interrupted``, ``definition_name``, ``billable_seconds``,
``epochs_completed``, ``early_stopped``). So this revision creates what is missing rather than
assuming an empty database: a table that exists keeps its rows and gets the columns and indexes
it lacks, added as the pre-Alembic store code added them (nullable; flags NOT NULL DEFAULT 0).

The tables are spelled out here, not imported from ``sql.py``: a revision is history and must
keep producing the same schema however the current one changes.

Revision ID: 0001
Revises: (none)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _tables() -> sa.MetaData:
    metadata = sa.MetaData()
    sa.Table(
        "tuning_jobs",
        metadata,
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("request", sa.Text, nullable=False),
        sa.Column("seed", sa.Integer, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("last_modified_at", sa.Float, nullable=False),
        sa.Column("ended_at", sa.Float),
        sa.Column("failure_reason", sa.Text),
        sa.Column("details", sa.Text, nullable=False),
        sa.Column("owner", sa.String(255)),
        sa.Column("heartbeat_at", sa.Float),
        sa.Column("train_payload", sa.LargeBinary),
    )
    sa.Table(
        "training_jobs",
        metadata,
        sa.Column("name", sa.String(128), primary_key=True),
        sa.Column("tuning_job_name", sa.String(64), nullable=False, index=True),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("hyperparameters", sa.Text, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("started_at", sa.Float),
        sa.Column("ended_at", sa.Float),
        sa.Column("objective", sa.Float),
        sa.Column("final_metrics", sa.Text, nullable=False),
        sa.Column("failure_reason", sa.Text),
        sa.Column("log_path", sa.Text),
        sa.Column("process_id", sa.Integer),
        sa.Column("interrupted", sa.Boolean, nullable=False),
        sa.Column("definition_name", sa.String(64)),
        sa.Column("billable_seconds", sa.Float),
        sa.Column("epochs_completed", sa.Integer),
        sa.Column("early_stopped", sa.Boolean, nullable=False),
    )
    sa.Table(
        "metric_points",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("training_job_name", sa.String(128), nullable=False, index=True),
        sa.Column("metric_name", sa.String(255), nullable=False),
        sa.Column("value", sa.Float, nullable=False),
        sa.Column("step", sa.Integer, nullable=False),
        sa.Column("timestamp", sa.Float, nullable=False),
    )
    return metadata


def upgrade() -> None:
    bind = op.get_bind()
    inspector = sa.inspect(bind)
    existing = set(inspector.get_table_names())
    for table in _tables().sorted_tables:
        if table.name not in existing:
            table.create(bind)
            continue
        have = {c["name"] for c in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name in have:
                continue
            # Rows already there need a value; the pre-Alembic code gave flags 0, others NULL.
            default = sa.text("0") if isinstance(column.type, sa.Boolean) else None
            op.add_column(
                table.name,
                sa.Column(
                    column.name, column.type, nullable=default is None, server_default=default
                ),
            )
        indexes = {i["name"] for i in inspector.get_indexes(table.name)}
        for index in table.indexes:
            if index.name not in indexes:
                index.create(bind)


def downgrade() -> None:
    for table in reversed(_tables().sorted_tables):
        op.drop_table(table.name)
