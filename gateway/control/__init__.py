"""The operator's side: start, drive, inspect and stop a network of nodes.

launcher      starts and stops the network's processes, waits for readiness, reads status
state         the state directory: per-node stores and keys, logs, pid files
broker        the embedded amqtt broker (``python -m gateway.control.broker``)
admin_client  a node's admin API
app_client    a business application's account, token and calls
cli/          the ``ecert`` command

Nodes never import this package.
"""
