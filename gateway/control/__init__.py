"""The operator's side: start, drive, inspect and stop a network of nodes.

launcher      starts and stops the network's processes, waits for readiness, reads status
state         the state directory: per-node stores and keys, logs, pid files
settle        the wait until every catalog row is at national (``up --wait``, ``ecert wait``)
relocate      a topology moved onto fresh loopback addresses and free ports
broker        the embedded amqtt broker (``python -m gateway.control.broker``)
admin_client  a node's admin API
app_client    a business application's account, token and calls
scenario/     scenario files: their model, loading, steps, runner and reports
junit         JUnit XML reports
testing       networks for tests; ``pytest_plugin`` hands them out as ``ecert_network``
cli/          the ``ecert`` command

Nodes never import this package.
"""
