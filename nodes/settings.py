"""A node's settings: argv → this frozen model → constructor arguments (no globals)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from gateway.core.topology import NodeSpec, Topology


class NodeSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    topology: Topology
    node_id: str
    state_dir: Path
    seed: int | None = 2836  # synthetic data on first start; None: start empty
    per_node: int = 40
    # proxies in front of the node: only from these is X-Forwarded-For read (right-most first)
    trusted_proxies: frozenset[str] = frozenset()
    file_link_ttl: float = 600.0  # fileUrl lifetime in seconds
    audit_retention_days: int = 90  # audit rows older than this are rolled up per day
    audit_max_rows: int = 1_000_000  # ... and so are those beyond the newest this many
    # the endpoint's limits (nodes.http.listener, nodes.http.body)
    connections_per_address: int = 512  # open connections from one remote address
    head_within: float = 10.0  # seconds for a request's line and headers, from its first byte
    body_within: float = 30.0  # seconds for its body
    idle_within: float = 75.0  # an idle keep-alive connection is closed after this
    housekeeping_every: float = 300.0  # seconds between sweeps (nodes.housekeeping)
    qr_rate_limit: float = 5.0  # VerifyQr checks a second from one address (no account: §8.4.2)
    # neighbour id → the key of the link to it (gateway.core.links); a keyed link's calls are
    # signed both ways. The launcher writes them; a node started by hand may have none.
    link_keys: Mapping[str, bytes] = Field(default_factory=dict)
    exchange_password: str | None = None  # the broker login (username: the node id), if any
    # VerifyCertificate checks the seal signature; off only to measure what the check costs
    # (scripts/bench_verify.py, ``python -m nodes --no-seal-check``)
    seal_check: bool = True

    @property
    def node(self) -> NodeSpec:
        return self.topology.node(self.node_id)

    @property
    def node_dir(self) -> Path:
        return self.state_dir / self.node_id

    @property
    def database_path(self) -> Path:
        return self.node_dir / "node.db"

    @property
    def admin_key_path(self) -> Path:
        return self.node_dir / "admin.key"
