"""The OMEMO 2 opt-out element (XEP-0384 §6), carried inside the SCE content."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Final

NS: Final = "urn:xmpp:omemo:2"
TAG: Final = f"{{{NS}}}opt-out"


def build_opt_out(reason: str | None = None) -> ET.Element:
    element = ET.Element(TAG)
    if reason:
        ET.SubElement(element, f"{{{NS}}}reason").text = reason
    return element


def find_opt_out(content: tuple[ET.Element, ...] | list[ET.Element]) -> str | None:
    """Return the reason ("" when none was given) if the content holds an opt-out, else None."""
    for element in content:
        if element.tag == TAG:
            reason = element.find(f"{{{NS}}}reason")
            return (reason.text or "") if reason is not None else ""
    return None
