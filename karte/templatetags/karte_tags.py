"""Template helpers of the web pages: locale-aware numbers with units, and the ward navigation."""
from __future__ import annotations

from django import template
from django.template.defaultfilters import floatformat
from django.utils.translation import get_language

from karte.models import Ward

register = template.Library()

# Units shown after a number without a space (Japanese typography); others get a thin space.
_TIGHT_UNITS = {"%", "％", "人", "件", "世帯"}


COUNT_UNITS = {"人", "世帯", "件", "count", "persons", "households"}


def display_digits(unit: str, *values: float | None) -> int:
    """Decimals to show for an indicator row: none for counts of people, households or things
    (interpolated counts are estimates, a tenth of a person reads as false precision); two for
    small rates and densities so that 0.04 does not print as 0.0; one otherwise."""
    if unit in COUNT_UNITS:
        return 0
    present = [abs(v) for v in values if v is not None]
    return 2 if present and max(present) < 10 else 1


@register.filter
def num(value, digits: int = 1) -> str:
    """A number for the active locale (thousands grouped, ``digits`` decimals), ``—`` when missing."""
    if value is None or value == "":
        return "—"
    return floatformat(value, f"{int(digits)}g")


@register.filter
def with_unit(value, unit: str = "") -> str:
    """``value`` formatted by :func:`num` followed by its unit, ``—`` when missing."""
    text = num(value)
    if text == "—" or not unit:
        return text
    return f"{text}{unit}" if unit in _TIGHT_UNITS else f"{text}\u2009{unit}"


@register.filter
def get_item(mapping, key):
    return mapping.get(key) if hasattr(mapping, "get") else None


@register.simple_tag
def karte_wards():
    """Every ward, for the navigation of the shared layout."""
    return list(Ward.objects.order_by("code"))


@register.filter
def place_name(place) -> str:
    """A city's or ward's name for the active language: ``name_en`` (Kawasaki-ku) on the English
    pages where it is known, the Japanese name otherwise."""
    english = (get_language() or "ja").startswith("en")
    return (english and getattr(place, "name_en", "")) or place.name_ja
