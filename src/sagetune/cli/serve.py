"""``sagetune serve``: the SageMaker API on HTTP, for boto3 and the SageMaker SDK."""

from __future__ import annotations

from pathlib import Path

import click

from sagetune.cli import get_store, main, store_option
from sagetune.sigv4 import ENV_ACCESS_KEY_ID, ENV_SECRET_ACCESS_KEY, load_credentials

DEFAULT_PORT = 8300


@main.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", default=DEFAULT_PORT, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--credentials",
    "credentials",
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="Access keys in the INI form of ~/.aws/credentials (aws_access_key_id and "
    "aws_secret_access_key per section), besides the environment's.",
)
@store_option
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, credentials: str | None) -> None:
    """Serve the SageMaker API's tuning operations (AWS JSON 1.1, SigV4-signed requests).

    Every request must be signed with a key the server knows: set SAGETUNE_ACCESS_KEY_ID and
    SAGETUNE_SECRET_ACCESS_KEY (or give --credentials FILE); on the client,
    AWS_ENDPOINT_URL_SAGEMAKER=http://HOST:PORT with the same key as AWS_ACCESS_KEY_ID and
    AWS_SECRET_ACCESS_KEY. InProgress tuning jobs whose tuner is gone are resumed at start.
    """
    from sagetune import api

    try:
        from sagetune import server
    except ImportError as exc:  # Starlette and uvicorn come with the server extra
        raise click.UsageError(
            f"sagetune serve needs {exc.name}: pip install 'sagetune[server]'"
        ) from None

    try:
        keys = load_credentials(credentials)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    if not keys:
        raise click.UsageError(
            f"no access key configured: set {ENV_ACCESS_KEY_ID} and {ENV_SECRET_ACCESS_KEY} "
            f"(or give --credentials FILE); every request must be signed with a known key"
        )
    store = get_store(ctx)
    backend = api.Backend(store, base_dir=Path.cwd())
    click.echo(
        f"sagetune: SageMaker API on http://{host}:{port} (store {store.url}, "
        f"{len(keys)} access key{'s' if len(keys) != 1 else ''})",
        err=True,
    )
    server.serve(backend, keys, host, port)
