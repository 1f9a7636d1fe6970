"""The ``ecert`` command line: start and stop a network, look into its nodes, call the methods.

One module per command group (``network``, ``accounts``, ``records``, ``call``, ``demo``), each
with ``add_parsers(subparsers)`` setting a synchronous ``handler``; ``__main__`` builds the parser
and turns errors into one line and an exit code. This package is the only place that uses rich.
"""
