"""Exceptions of the operator's tools (launcher, admin client, application client, CLI).

GatewayError (``gateway.core.errors``)
├── LauncherError          starting or stopping the network failed
│   └── NotSettled             catalogs did not reach national in time (``.laggards``)
├── AdminError             an admin API call failed (``.node_id``)
│   ├── NodeNotRunning         nothing answers at the node's address
│   ├── AdminKeyMissing        no admin.key in the state directory (never started there)
│   └── AdminRejected          the node answered 4xx/5xx (``.status``; the node's ``error`` text)
└── CallError              a call as a business application could not be made (no account,
                           no token, nothing answering)
"""

from __future__ import annotations

from gateway.core.errors import GatewayError


class LauncherError(GatewayError):
    """The network could not be started or stopped."""


class NotSettled(LauncherError):
    """The network did not settle in time; ``laggards`` names the nodes (or ``broker``)."""

    def __init__(self, message: str, *, laggards: tuple[str, ...]):
        super().__init__(message)
        self.laggards = laggards


class AdminError(GatewayError):
    def __init__(self, message: str, *, node_id: str):
        super().__init__(message)
        self.node_id = node_id


class NodeNotRunning(AdminError):
    """Connection refused or reset: the node process is not serving."""


class AdminKeyMissing(AdminError):
    """The node's admin key file does not exist."""


class AdminRejected(AdminError):
    def __init__(self, message: str, *, node_id: str, status: int):
        super().__init__(message, node_id=node_id)
        self.status = status


class CallError(GatewayError):
    """The call could not be made (no account, no token, nothing answering)."""
