"""Who may use the exchange broker, and for what (SPEC §6.3; issue #13's exchange security).

Every node connects with its own username (its id) and a password derived from the network's link
secret; the broker knows only the SHA-256 of each password. Topic ACLs follow the tree:

- a node publishes catalog increments and type catalogues only on its parent's ``catalog`` and
  ``types`` topics, and acknowledgements and anomalies only on its own children's ``ack`` and
  ``anomaly`` topics;
- it subscribes only to what is addressed to it: its own ``catalog``/``types`` topics (when it has
  children) and its own ``ack``/``anomaly`` topics (when it has a parent);
- it publishes its expiry reminders (§8.3.4) on its own ``reminders`` topic, which its parent may
  read (a province watches its cities' reminders);
- it publishes its active authorisations (§8.1.3) on its own ``grants`` topic, and reads every
  node's (each node finds what is authorised to a holder anywhere).

So an anonymous client gets nothing, and no node can forge an acknowledgement to another node's
child, nor read rows that are not sent to it.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Any

from gateway.core.exchange import (
    ack_topic,
    anomaly_topic,
    catalog_topic,
    every_grants_topic,
    grants_topic,
    reminders_topic,
    types_topic,
)
from gateway.core.topology import Topology


def exchange_password(secret: bytes, node_id: str) -> str:
    return hmac.new(secret, f"ecert-exchange|{node_id}".encode(), hashlib.sha256).hexdigest()


def password_digest(password: str) -> str:
    """What the broker keeps of a password: they are 256 random bits, so no slow hash is needed."""
    return hashlib.sha256(password.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class ExchangeAccess:
    users: dict[str, str]  # username → password digest
    publish: dict[str, list[str]]  # username → topics it may publish on
    subscribe: dict[str, list[str]]  # username → topics it may subscribe to

    def as_json(self) -> dict[str, Any]:
        return {"users": self.users, "publish": self.publish, "subscribe": self.subscribe}


def exchange_access(topology: Topology, secret: bytes) -> ExchangeAccess:
    network = topology.network
    users: dict[str, str] = {}
    publish: dict[str, list[str]] = {}
    subscribe: dict[str, list[str]] = {}
    for node in topology.nodes:
        users[node.id] = password_digest(exchange_password(secret, node.id))
        mine: list[str] = [reminders_topic(network, node.id), grants_topic(network, node.id)]
        readable: list[str] = [every_grants_topic(network)]
        if node.parent is not None:
            mine += [catalog_topic(network, node.parent), types_topic(network, node.parent)]
            readable += [ack_topic(network, node.id), anomaly_topic(network, node.id)]
        children = topology.children(node.id)
        for child in children:
            mine += [ack_topic(network, child.id), anomaly_topic(network, child.id)]
            readable.append(reminders_topic(network, child.id))
        if children:
            readable += [catalog_topic(network, node.id), types_topic(network, node.id)]
        publish[node.id], subscribe[node.id] = mine, readable
    return ExchangeAccess(users, publish, subscribe)
