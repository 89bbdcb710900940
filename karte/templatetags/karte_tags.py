"""Template helpers of the web pages: locale-aware numbers with units, and the ward navigation."""
from __future__ import annotations

import json

from django import template
from django.template.defaultfilters import floatformat
from django.utils.translation import get_language

from karte.layers.lookups import cities, wards
from karte.models import ResourceKind

register = template.Library()

# Units shown after a number without a space (Japanese typography); others get a thin space.
_TIGHT_UNITS = {"%", "％", "人", "件", "世帯"}


@register.filter
def num(value, digits: int = 1) -> str:
    """A number for the active locale (thousands grouped, ``digits`` decimals), ``—`` when missing."""
    if value is None or value == "":
        return "—"
    return floatformat(value, f"{int(digits)}g")


@register.filter
def signed(value, digits: int = 1) -> str:
    """A change for the active locale with its sign (``+1.2``, ``−0.4``, ``±0``), ``—`` when missing."""
    if value is None or value == "":
        return "—"
    text = num(abs(value), digits)
    if text.strip("0.,") == "":
        return f"±{text}"
    return f"+{text}" if value > 0 else f"\u2212{text}"


@register.filter
def with_unit(value, unit: str = "") -> str:
    """``value`` formatted by :func:`num` followed by its unit, ``—`` when missing."""
    text = num(value)
    if text == "—" or not unit:
        return text
    return f"{text}{unit}" if unit in _TIGHT_UNITS else f"{text}\u2009{unit}"


@register.filter
def pct(share, digits: int = 1) -> str:
    """A share (0–1) as a percentage for the active locale, ``—`` when missing."""
    if share is None or share == "":
        return "—"
    return f"{num(100 * float(share), digits)}%"


@register.filter
def get_item(mapping, key):
    return mapping.get(key) if hasattr(mapping, "get") else None


@register.simple_tag
def karte_kind_labels() -> str:
    """Resource kind labels in the active language as JSON, for the place search (search.js) to name
    a facility's kind (the API answers the kind's code)."""
    return json.dumps({kind: str(label) for kind, label in ResourceKind.choices}, ensure_ascii=False)


@register.simple_tag
def karte_wards():
    """Every ward, for the navigation of the shared layout."""
    return list(wards())


@register.simple_tag
def karte_cities():
    """Every city, for the navigation of the shared layout (each city's districts side by side)."""
    return list(cities())


@register.filter
def place_name(place) -> str:
    """A city's or ward's name for the active language: ``name_en`` (Kawasaki-ku) on the English
    pages where it is known, the Japanese name otherwise."""
    if place is None:  # a district of a city without wards
        return ""
    english = (get_language() or "ja").startswith("en")
    return (english and getattr(place, "name_en", "")) or place.name_ja
