"""Catalog aggregation (SPEC §6, §7.5, §7.6 a–e): validate, ingest, push, anomalies, types.

``runner.aggregation(ctx)`` runs it for one node; ``wake.wake_push(ctx)`` asks for an immediate
push. Modules here import the store and the model; the MQTT transport is ``gateway.core.exchange``.
"""
