"""XML helpers the OFD modules share: the OFD namespace, elements, numbers in millimetres."""

from __future__ import annotations

from xml.etree import ElementTree as ET

OFD_NS = "http://www.ofdspec.org/2016"
ET.register_namespace("ofd", OFD_NS)


def sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    """A child ``ofd:tag`` of ``parent`` with ``text`` and attributes."""
    element = ET.SubElement(parent, f"{{{OFD_NS}}}{tag}", attrs)
    if text is not None:
        element.text = text
    return element


def tree_bytes(root: ET.Element) -> bytes:
    data: bytes = ET.tostring(root, encoding="UTF-8", xml_declaration=True)
    return data


def num(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")
