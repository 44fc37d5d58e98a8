"""Hypothesis strategies that mutate valid requests, shared by the fuzz tests.

A request is mutated at random places: a member replaced by any JSON-like value (NaN, inf and
huge numbers, lone surrogates and long strings included, and the values of
``tests/spec/test_hostile_input.py``), deleted, wrapped in a list, or an unknown or known
member of the request's shape added. ``SAGETUNE_FUZZ_EXAMPLES`` sets how many examples each
fuzz test runs (a longer search than CI's).
"""

from __future__ import annotations

import copy
import io
import os
import tarfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from sagetune.spec.service_model import request_shape


def _member_names() -> list[str]:
    names: set[str] = set()
    seen: set[str] = set()

    def collect(shape: Any) -> None:
        if shape.name in seen:
            return
        seen.add(shape.name)
        if shape.type_name == "structure":
            names.update(shape.members)
            for member in shape.members.values():
                collect(member)
        elif shape.type_name == "list":
            collect(shape.member)
        elif shape.type_name == "map":
            collect(shape.value)

    collect(request_shape())
    return sorted(names | {"LocalPricing", "LocalBaseDirectory", "LocalCommand"})


MEMBERS = _member_names()


def examples(default: int) -> int:
    """How many examples a fuzz test runs: ``default``, or ``$SAGETUNE_FUZZ_EXAMPLES``."""
    return int(os.environ.get("SAGETUNE_FUZZ_EXAMPLES", default))


def hostile_files(folder: Path) -> None:
    """Lay out the source archives the hostile values name: one whose only member is
    ``../../train.py``, one whose ``train.py`` is a link."""
    body = b"print('validation:auc=0.5')\n"
    escape = tarfile.TarInfo("../../train.py")
    escape.size = len(body)
    with tarfile.open(folder / "escape.tar.gz", "w:gz") as tar:
        tar.addfile(escape, io.BytesIO(body))
    link = tarfile.TarInfo("train.py")
    link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
    with tarfile.open(folder / "link.tar.gz", "w:gz") as tar:
        tar.addfile(link)


HUGE = [10**400, -(10**400), 2**31, 2**63, 2**64]
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.sampled_from([*HUGE, 0, 1, 2, 3, 120])
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12)
    | st.sampled_from(
        ["", "x" * 300, "File", "Stream", "s3://b/k", "ml.m5.xlarge", "0.1", '"train.py"']
        + ["Bayesian", "Grid", "Hyperband", "Random", "Auto", "Logarithmic", "Maximize"]
        + ["\ud800", "a\x00b", "\u2028", "é"]
        # Values once accepted that crashed later (the fuzz tests' folder has the archives).
        + ["a=b", "http://[", "(a{4294967296})", "python 'train.py", "p" * 300 + ".py"]
        + ["escape.tar.gz", "link.tar.gz", "1", str(10**10), str(2**63)]
    )
)
VALUES = st.recursive(
    SCALARS,
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.sampled_from(MEMBERS) | st.text(max_size=6), children, max_size=3)
    ),
    max_leaves=6,
)


def _places(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [path]
    if isinstance(node, dict):
        for k, v in node.items():
            out += _places(v, (*path, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _places(v, (*path, i))
    return out


def mutate(req: dict[str, Any], data: st.DataObject) -> None:
    """Change ``req`` in place at one place hypothesis draws."""
    places = _places(req)[1:]
    if not places:  # every member deleted already: add one
        member = data.draw(st.sampled_from(MEMBERS), label="member")
        req[member] = data.draw(VALUES, label="value")
        return
    place = data.draw(st.sampled_from(places), label="place")
    parent: Any = req
    for key in place[:-1]:
        parent = parent[key]
    key = place[-1]
    op = data.draw(st.sampled_from(["replace", "delete", "wrap", "add"]), label="op")
    if op == "replace":
        parent[key] = data.draw(VALUES, label="value")
    elif op == "delete":
        del parent[key]
    elif op == "wrap":
        parent[key] = [parent[key]]
    elif isinstance(parent[key], dict):
        member = data.draw(st.sampled_from(MEMBERS) | st.text(max_size=6), label="member")
        parent[key][member] = data.draw(VALUES, label="value")
    else:
        parent[key] = data.draw(VALUES, label="value")


def mutated(data: st.DataObject, bases: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """A deep copy of one of ``bases`` with one to three mutations."""
    req = copy.deepcopy(data.draw(st.sampled_from(bases), label="base"))
    for _ in range(data.draw(st.integers(1, 3), label="mutations")):
        mutate(req, data)
    return req
