"""The gateway's ground floor: what nodes and the operator's tools both stand on.

topology   the topology file, validated strictly (SPEC §8)
protocol   return codes, the envelope, the ``X-Ecert-*`` headers (SPEC §3, §5)
routing    §7.4 routing decisions as pure functions
forwarder  one pooled client per node: tokens at neighbours, deadlines, retries
trace      the route and per-hop timing a response carries back
exchange   the MQTT transport of catalog aggregation (the only aiomqtt user)
client     outbound aiohttp sessions (the only place that creates them)
"""
