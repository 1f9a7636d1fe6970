"""Everything between sharing-system nodes, in two floors.

``gateway.core``     what every node imports: the topology file, the wire protocol (return codes,
                     envelope, ``X-Ecert-*`` headers), §7.4 routing decisions (pure), the
                     forwarder, the route and timing trace, the MQTT exchange, outbound HTTP.
``gateway.control``  the operator's tools built on it: the launcher and its state directory, the
                     embedded broker, the admin and application clients, the ``ecert`` CLI.

``gateway`` never imports ``nodes`` (it starts nodes as processes with ``python -m nodes``), and
``gateway.core`` never imports ``gateway.control``; nodes import ``gateway.core`` only.
"""
