"""Deterministic synthetic certificates for a topology (SPEC §2): the built-in certificate types,
made-up but valid holders and issuers, and holders that travel between nodes."""

from nodes.synth.catalogue import CATALOGUE
from nodes.synth.generator import (
    DEFAULT_TODAY,
    generate,
    generate_bulk,
    generate_for,
    shared_holders,
)
from nodes.synth.shared import HeldCertificate, HolderSummary

__all__ = (
    "CATALOGUE",
    "DEFAULT_TODAY",
    "HeldCertificate",
    "HolderSummary",
    "generate",
    "generate_bulk",
    "generate_for",
    "shared_holders",
)
