"""``ecert console``: one web page over the running network of a state directory.

- ``watch``: the nodes' health and counters (``Launcher.status``), refreshed in the background;
- ``calls``: calls as a business application from any node (``AppCaller``), with the explain
  plan, and the recent ones to replay;
- ``server``: the aiohttp app serving the page (``static/``, shipped in the package) and its JSON;
- ``live``: the event stream (SSE) and the fault switches; ``hops``: a request's tree of hops.
"""
