"""Everything between sharing-system nodes.

Topology, routing, forwarding, trace, exchange, launcher, CLI.

``gateway`` never imports ``nodes``; it starts nodes as processes with ``python -m nodes``.
"""
