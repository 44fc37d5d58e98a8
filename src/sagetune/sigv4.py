"""AWS Signature Version 4 on requests to the local SageMaker endpoint.

Every request must be signed (service ``sagemaker``, any region) with an access key the server
knows. The signature is recomputed with botocore's own signer from what the request carries
(its method, URL, the headers it says it signed, its body and its ``X-Amz-Date``) and compared
in constant time, so whatever botocore signs, the server checks the same way.

Keys come from ``SAGETUNE_ACCESS_KEY_ID`` and ``SAGETUNE_SECRET_ACCESS_KEY``, and from a
credentials file in the INI form of ``~/.aws/credentials`` (every section with
``aws_access_key_id`` and ``aws_secret_access_key`` is one key).

Refusals carry the codes the service uses: ``MissingAuthenticationTokenException`` (not
signed), ``IncompleteSignatureException`` (a malformed ``Authorization``),
``UnrecognizedClientException`` (an unknown key), ``InvalidSignatureException`` (a wrong
signature, another service, or a request more than 15 minutes old or ahead).
"""

from __future__ import annotations

import configparser
import hmac
import os
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

SERVICE = "sagemaker"
ALGORITHM = "AWS4-HMAC-SHA256"
MAX_SKEW_SECONDS = 15 * 60
ENV_ACCESS_KEY_ID = "SAGETUNE_ACCESS_KEY_ID"
ENV_SECRET_ACCESS_KEY = "SAGETUNE_SECRET_ACCESS_KEY"

_AUTH = re.compile(
    r"^AWS4-HMAC-SHA256\s+Credential=(?P<credential>[^,\s]+)\s*,\s*"
    r"SignedHeaders=(?P<signed>[^,\s]+)\s*,\s*Signature=(?P<signature>[0-9a-f]{64})\s*$"
)


class AuthError(Exception):
    """A refused request: the service's error code, its HTTP status and a message."""

    def __init__(self, code: str, status: int, message: str):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.status = status
        self.message = message


def load_credentials(
    path: str | os.PathLike[str] | None = None, environ: Mapping[str, str] = os.environ
) -> dict[str, str]:
    """Access key id -> secret, from the environment and (if given) a credentials file.

    Raises:
        ValueError: the file cannot be read, or a section lacks one of its two keys.
    """
    keys: dict[str, str] = {}
    key_id, secret = environ.get(ENV_ACCESS_KEY_ID), environ.get(ENV_SECRET_ACCESS_KEY)
    if bool(key_id) != bool(secret):
        raise ValueError(f"set both {ENV_ACCESS_KEY_ID} and {ENV_SECRET_ACCESS_KEY}, or neither")
    if key_id and secret:
        keys[key_id] = secret
    if path is not None:
        parser = configparser.ConfigParser(interpolation=None)
        try:
            with open(Path(path).expanduser()) as f:
                parser.read_file(f)
        except (OSError, configparser.Error) as exc:
            raise ValueError(f"credentials file {str(path)!r}: {exc}") from None
        for section in parser.sections():
            entry = parser[section]
            kid, sec = entry.get("aws_access_key_id"), entry.get("aws_secret_access_key")
            if not kid or not sec:
                raise ValueError(
                    f"credentials file {str(path)!r}, [{section}]: needs aws_access_key_id "
                    f"and aws_secret_access_key"
                )
            keys[kid.strip()] = sec.strip()
    return keys


def verify(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    keys: Mapping[str, str],
    now: datetime | None = None,
) -> str:
    """Check a request's SigV4 signature; returns the access key id that signed it.

    Args:
        method: the HTTP method.
        url: the URL as the client addressed it (scheme, Host, path and query).
        headers: the request's headers (names in any case).
        body: the request body.
        keys: the known access key ids and their secrets.
        now: the server's time (default: now).

    Raises:
        AuthError: the request is not signed, not signed right, or signed too long ago.
    """
    lower = {k.lower(): v for k, v in headers.items()}
    authorization = lower.get("authorization")
    if not authorization:
        raise AuthError("MissingAuthenticationTokenException", 403, "Missing Authentication Token")
    match = _AUTH.match(authorization.strip())
    amz_date = lower.get("x-amz-date", "")
    if match is None or not re.fullmatch(r"\d{8}T\d{6}Z", amz_date):
        raise AuthError(
            "IncompleteSignatureException",
            400,
            "Authorization header requires AWS4-HMAC-SHA256 with Credential, SignedHeaders and "
            "Signature, and the request an X-Amz-Date (YYYYMMDDTHHMMSSZ)",
        )
    parts = match["credential"].split("/")
    if len(parts) != 5 or parts[4] != "aws4_request":
        raise AuthError(
            "IncompleteSignatureException",
            400,
            "Credential must be <key id>/<date>/<region>/<service>/aws4_request",
        )
    key_id, day, region, service, _ = parts
    secret = keys.get(key_id)
    if secret is None:
        raise AuthError(
            "UnrecognizedClientException",
            403,
            "The security token included in the request is invalid.",
        )
    signed_at = datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    now = now or datetime.now(UTC)
    if abs((now - signed_at).total_seconds()) > MAX_SKEW_SECONDS:
        raise AuthError(
            "InvalidSignatureException",
            403,
            f"Signature expired: {amz_date} is more than 15 minutes away from the server's time "
            f"{now.strftime('%Y%m%dT%H%M%SZ')}",
        )
    if service != SERVICE or day != amz_date[:8]:
        raise AuthError(
            "InvalidSignatureException",
            403,
            f"Credential should be scoped to a valid service ({SERVICE}) and to the day of "
            f"X-Amz-Date ({amz_date[:8]})",
        )
    signed = match["signed"].split(";")
    missing = [h for h in signed if h not in lower]
    if missing or "host" not in signed:
        raise AuthError(
            "IncompleteSignatureException",
            400,
            f"SignedHeaders must include host and only headers the request carries; "
            f"missing {', '.join(missing) or 'host'}",
        )
    request = AWSRequest(method=method, url=url, data=body, headers={h: lower[h] for h in signed})
    request.context["timestamp"] = amz_date
    signer = SigV4Auth(Credentials(key_id, secret), SERVICE, region)
    if signer.signed_headers(signer.headers_to_sign(request)) != match["signed"]:
        raise AuthError(
            "InvalidSignatureException",
            403,
            "The request signature we calculated does not match the signature you provided: "
            "SignedHeaders must be lower case, sorted and not name user-agent or expect",
        )
    canonical = signer.canonical_request(request)
    expected = signer.signature(signer.string_to_sign(request, canonical), request)
    if not hmac.compare_digest(expected, match["signature"]):
        raise AuthError(
            "InvalidSignatureException",
            403,
            "The request signature we calculated does not match the signature you provided. "
            "Check your AWS Secret Access Key and signing method.",
        )
    return key_id
