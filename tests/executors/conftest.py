"""A Ray cluster on loopback for the executor tests, one per session (``ray_cluster``).

A head without CPUs and two worker nodes of one CPU each, told apart by the custom resources
``node_a`` and ``node_b``, all three at 127.0.0.1. Ray resolves a loopback address to the
machine's interface address (``services.resolve_ip_for_localhost``: the driver would then
look for the cluster at, say, 192.0.2.2 and wait forever); with
``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0`` that resolution answers 127.0.0.1, and every node is
also given ``node_ip_address="127.0.0.1"``. The fixture checks from ``ray.nodes()`` that it
worked.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

LOOPBACK = "127.0.0.1"
START_SECONDS = 120.0


@dataclass
class RayCluster:
    """The test cluster: ``address`` of its head, and the worker nodes by custom resource."""

    cluster: Any
    address: str
    workers: dict[str, Any]  # "node_a" / "node_b" -> ray's Node
    node_ids: dict[str, str]  # "node_a" / "node_b" -> Ray node id (hex)
    temp_dir: str

    def add_worker(self, resource: str) -> Any:
        node = self.cluster.add_node(
            num_cpus=1,
            resources={resource: 1},
            node_ip_address=LOOPBACK,
            temp_dir=self.temp_dir,
            object_store_memory=80 * 1024 * 1024,
        )
        self.cluster.wait_for_nodes()
        self.workers[resource] = node
        self.node_ids[resource] = node.node_id
        return node


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[RayCluster]:
    ray = pytest.importorskip("ray")
    if os.environ.get("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER") != "0":
        # Read when ray is first imported: set by the ``pytest_configure`` hook below.
        pytest.fail("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0 was not set before ray was imported")
    from ray.cluster_utils import Cluster

    temp_dir = tempfile.mkdtemp(prefix="rt", dir="/tmp")  # short: Unix socket paths
    # Cluster() also writes the head's address to Ray's default temp dir (/tmp/ray) without
    # creating it, whatever temp_dir says: on a machine that never ran Ray it is not there.
    os.makedirs(_default_ray_temp_dir(), exist_ok=True)
    t0 = time.monotonic()
    cluster = Cluster(
        initialize_head=True,
        head_node_args={
            "num_cpus": 0,
            "node_ip_address": LOOPBACK,
            "include_dashboard": False,
            "temp_dir": temp_dir,
            "object_store_memory": 80 * 1024 * 1024,
        },
    )
    state = RayCluster(cluster, cluster.address, {}, {}, temp_dir)
    try:
        for resource in ("node_a", "node_b"):
            state.add_worker(resource)
        assert cluster.address.startswith(f"{LOOPBACK}:"), cluster.address
        ray.init(address=cluster.address, log_to_driver=False)
        assert time.monotonic() - t0 < START_SECONDS
        nodes = [n for n in ray.nodes() if n["Alive"]]
        assert len(nodes) == 3, nodes
        assert {n["NodeManagerAddress"] for n in nodes} == {LOOPBACK}, nodes
        assert ray.util.get_node_ip_address() == LOOPBACK
        yield state
    finally:
        ray.shutdown()
        cluster.shutdown()
        shutil.rmtree(temp_dir, ignore_errors=True)


def _default_ray_temp_dir() -> str:
    try:
        from ray._common.utils import get_default_ray_temp_dir
    except ImportError:  # where older releases kept it
        return os.path.join(tempfile.gettempdir(), "ray")
    return get_default_ray_temp_dir()


def pytest_configure(config: pytest.Config) -> None:
    # Before anything imports ray (its constants are read at import): see the module docstring.
    os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
