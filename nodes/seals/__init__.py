"""Electronic seals of issuing authorities (电子印章; DB23/T 2836 §5.3.2, §5.4.3; SPEC §7 制证签发).

- ``sm2``: SM2 signatures over SM3 (GB/T 32918, GM/T 0009 default signer ID), the only module
  that imports the SM2 library (gmssl-pyx).
- ``canonical``: the stable serialisation of a certificate that its seal signs.
- ``nodes.model.seal``: the seal record (name, authority code, public key, validity).
- ``keys``: private keys in the node's private state (``<state>/<node>/seals/<SealID>.key``, 0600).
- ``sealing``: create seals, seal a certificate, check a certificate's seal.
- ``exchange``: seals travel up with the type catalogue.
- ``stamp``: the seal's picture (a red round stamp) the files show.
"""
