"""A node's clients of the exchange: the topology's broker, the node's login, a client id of its
own. Aggregation holds one (its link messages); the grant index and the reminder job each hold
another, for their broadcast topics."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from gateway.core.exchange import Exchange
from nodes.context import NodeContext


def node_exchange(
    ctx: NodeContext,
    *,
    job: str,
    subscriptions: Sequence[str],
    on_message: Callable[[str, dict[str, Any]], Awaitable[None]],
    **options: Any,
) -> Exchange:
    """An exchange client of the node for ``job`` ("" for aggregation's); ``options`` go to
    ``Exchange`` as they are."""
    spec, network = ctx.topology.exchange, ctx.topology.network
    suffix = f"-{job}" if job else ""
    return Exchange(
        network=network,
        host=spec.broker_host,
        port=spec.broker_port,
        # unique per run: nobody can guess it to take the node's session over
        client_id=f"{network}-{ctx.node_id}{suffix}-{secrets.token_hex(4)}",
        username=ctx.node_id if ctx.settings.exchange_password else None,
        password=ctx.settings.exchange_password,
        subscriptions=subscriptions,
        on_message=on_message,
        **options,
    )
