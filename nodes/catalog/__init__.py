"""Catalog aggregation (SPEC §6, §7.5, §7.6 a–e): validate, ingest, push, anomalies, types.

``lifetime.aggregation(ctx)`` runs it for one node: ``inbound`` handles what arrives,
``pipeline`` validates and commits the children's batches, ``outbound`` pushes and announces;
``NodeContext.wakeups`` asks for an immediate push. Modules here import the store and the model;
the MQTT transport is ``gateway.core.exchange``.
"""
