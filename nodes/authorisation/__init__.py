"""Authorisation (§8.1.3, §8.1.4) and my certificates (§8.1.2).

A holder authorises a certificate held at this node to another holder, and may withdraw it.
The grant lives in the store of the node holding the certificate (``grants``); each node
publishes its active grants on the exchange (``index``: ``ecert/<network>/grants/<node-id>``,
retained) and every node keeps what all of them published, so any node finds what is
authorised to a holder and looks each certificate up by ID along the cascade (``honour``:
by-holder methods and my certificates).
"""
