"""Exceptions of the operator's tools (launcher, admin client, application client, CLI).

GatewayError (``gateway.core.errors``)
├── LauncherError          starting or stopping the network failed
├── AdminError             an admin API call failed (``.node_id``)
│   ├── NodeNotRunning         nothing answers at the node's address
│   ├── AdminKeyMissing        no admin.key in the state directory (never started there)
│   └── AdminRejected          the node answered 4xx/5xx (``.status``; the node's ``error`` text)
├── CallError              a call as a business application could not be made (no account,
│                          no token, nothing answering)
└── FaultError             a fault could not be applied or healed (``.fault_id`` when known)
    ├── FaultInvalid           not a fault this network can have: unknown kind or node, nodes
    │                          that are not neighbours, values out of range (bad usage: exit 2)
    ├── FaultNotFound          no fault with that id is in force
    └── FaultFailed            the network could not take it: a node down or paused, an admin
                               call refused
"""

from __future__ import annotations

from gateway.core.errors import GatewayError


class LauncherError(GatewayError):
    """The network could not be started or stopped."""


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


class FaultError(GatewayError):
    def __init__(self, message: str, *, fault_id: str | None = None):
        super().__init__(message)
        self.fault_id = fault_id


class FaultInvalid(FaultError):
    """The fault asked for is not possible in this network (a usage error)."""


class FaultNotFound(FaultError):
    """No fault with this id is in force."""


class FaultFailed(FaultError):
    """The running network could not take (or give back) the fault."""
