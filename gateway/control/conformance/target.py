"""What the suite is pointed at: the interface's URL, the account, the addresses to call from,
and the certificates and holders the user knows of (``ecert conformance``'s options)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from gateway.control.conformance.identifiers import (
    HOLDER_TYPES,
    certificate_id_problem,
    holder_code_problem,
)

DEFAULT_TIMEOUT = 30.0  # seconds for one request


@dataclass(frozen=True, slots=True)
class Holder:
    """A 持证主体: CertificateHolderCode and its A.2 CertificateHolderType."""

    code: str
    holder_type: str


@dataclass(frozen=True, slots=True)
class Target:
    """``url`` serves ``url/token`` and ``url/<Method>`` (Appendix C's ``http://server:port/path``)."""

    url: str
    account: str
    from_ip: str | None = None
    other_ip: str | None = None
    certificates: tuple[str, ...] = ()
    holders: tuple[Holder, ...] = ()
    timeout: float = DEFAULT_TIMEOUT

    def method_url(self, method: str) -> str:
        return f"{self.url}/{method}"


def parse_url(text: str) -> str:
    """An http(s) URL without its trailing slash."""
    url = text.strip().rstrip("/")
    if not url.startswith(("http://", "https://")) or len(url.split("/", 3)[2]) == 0:
        raise ValueError(f"{text!r} is not an http:// or https:// URL")
    return url


def parse_ip(text: str) -> str:
    try:
        return str(ipaddress.ip_address(text.strip()))
    except ValueError:
        raise ValueError(f"{text!r} is not an IP address") from None


def parse_certificate(text: str) -> str:
    """A CertificateID as GB/T 36904 writes it, check character included."""
    value = text.strip()
    problem = certificate_id_problem(value)
    if problem is not None:
        raise ValueError(f"--certificate {problem}")
    return value


def parse_holder(text: str) -> Holder:
    """``CODE:TYPE``: a holder code and its A.2 type, checked as that type asks (001, 111)."""
    code, sep, holder_type = text.strip().rpartition(":")
    if not sep or not code:
        raise ValueError(f"--holder {text!r} is not CODE:TYPE (e.g. 11010519491231002X:111)")
    if holder_type not in HOLDER_TYPES:
        raise ValueError(f"--holder {text!r}: {holder_type!r} is not a holder type of A.2")
    problem = holder_code_problem(holder_type, code)
    if problem is not None:
        raise ValueError(f"--holder {text!r}: {problem}")
    return Holder(code, holder_type)
