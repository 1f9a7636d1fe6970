"""The seal record (电子印章): who seals, with which public key, for how long."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from nodes.model.fields import IsoDate, Uscc

SEAL_ID_PATTERN = r"^ES[0-9A-Z]{18}[0-9]{2}$"


class Seal(BaseModel):
    """One issuing authority's e-seal at the node that holds its private key.

    ``SealID`` is ``ES`` + the authority's USCC + a two-digit sequence (its first seal is 01);
    ``publicKey`` the SM2 public key ``x || y`` as 128 hex digits; ``node`` the node holding the
    private key (the seal signs only there).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    SealID: str = Field(pattern=SEAL_ID_PATTERN)
    SealName: str = Field(min_length=1, max_length=200)
    CertificateIssuingAuthorityName: str = Field(min_length=1, max_length=200)
    CertificateIssuingAuthorityCode: Uscc
    publicKey: str = Field(pattern=r"^[0-9a-f]{128}$")
    validFrom: IsoDate
    validTo: IsoDate
    node: str = Field(min_length=1, max_length=64)

    @model_validator(mode="after")
    def _consistent(self) -> Seal:
        if self.SealID[2:20] != self.CertificateIssuingAuthorityCode:
            raise ValueError("SealID must embed CertificateIssuingAuthorityCode")
        if self.validTo < self.validFrom:
            raise ValueError("validTo is before validFrom")
        return self

    @property
    def public_key(self) -> bytes:
        return bytes.fromhex(self.publicKey)

    def valid_on(self, day: str) -> bool:
        """Whether ``day`` (ISO) falls in the seal's validity."""
        return self.validFrom <= day <= self.validTo

    def to_record(self) -> dict[str, str]:
        return self.model_dump(mode="json")


def seal_id(authority_code: str, sequence: int) -> str:
    return f"ES{authority_code}{sequence:02d}"
