"""Everything between sharing-system nodes: topology, routing, forwarding, trace, exchange, launcher, CLI.

``gateway`` never imports ``nodes``; it starts nodes as processes with ``python -m nodes``.
"""
