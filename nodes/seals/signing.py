"""A seal with its private key, as the node that holds it signs with it (never sent anywhere)."""

from __future__ import annotations

from dataclasses import dataclass

from nodes.model.seal import Seal
from nodes.seals import sm2


@dataclass(frozen=True, slots=True, repr=False)
class SigningKey:
    seal: Seal
    private_key: bytes

    def sign(self, message: bytes) -> bytes:
        """The DER SM2 signature of ``message`` (SM3, default signer ID)."""
        return sm2.sign(self.private_key, self.seal.public_key, message)

    def __repr__(self) -> str:  # never the private key in a log line or a traceback
        return f"SigningKey({self.seal.SealID})"
