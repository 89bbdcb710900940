"""Extension points of the karte: what another app adds to a district's karte — sections of the page
and of the printed karte, map layers of the district page, and published layers served under
``/api/<name>/`` and by the export command — without karte knowing that app.

An app registers providers in its ``AppConfig.ready()``; karte's pages, printing, API and export
iterate over what is registered. Providers are called per request with the district (or the query)
and answer plain data: karte renders a section by including the template the provider names, with
the section as ``section``; a map layer is a FeatureCollection drawn as labelled markers.

Nothing here names an app, and nothing in ``karte`` imports one (``tests/test_architecture.py``).
Registration is idempotent by key, so a ``ready()`` that runs twice (tests) adds nothing twice.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from karte.models import District


@dataclass(frozen=True)
class DistrictSection:
    """One section of a district's karte added by an app.

    ``template`` is included by the district page and ``print_template`` by the printed karte, each
    with ``section`` in its context; ``data`` is what they show; ``snapshot`` is the same as JSON-safe
    data, frozen into an edition of the karte (``None``: nothing to freeze)."""

    key: str
    title: str
    template: str
    print_template: str
    data: Any = None
    snapshot: dict | None = None


@dataclass(frozen=True)
class DistrictMapLayer:
    """Point features drawn on the district page's map as markers with a glyph; each feature's
    ``properties`` carry ``label`` (popup title) and ``text`` (popup body), shown as text."""

    key: str
    label: str
    collection: dict
    glyph: str = "・"
    colour: str = "#e7298a"


@dataclass(frozen=True)
class PublishedLayer:
    """A FeatureCollection served at ``/api/<name>/`` (JSON or CSV) and written by the export command.

    ``build(options)`` receives the raw text of each parameter named in ``parameters`` (``None`` when
    absent) and answers a FeatureCollection with ``karte:metadata``; bad values raise
    :class:`~karte.layers.errors.ParameterError`. ``parameters`` are OpenAPI parameter objects;
    ``properties_schema`` and ``metadata_schema`` describe a feature's properties and the layer's
    extra metadata members in the OpenAPI document."""

    name: str
    summary: str
    build: Callable[[Mapping[str, str | None]], dict]
    parameters: tuple[dict, ...] = ()
    properties_schema: dict = field(default_factory=lambda: {"type": "object"})
    metadata_schema: dict = field(default_factory=dict)

    @property
    def parameter_names(self) -> list[str]:
        return [parameter["name"] for parameter in self.parameters]


_section_providers: dict[str, Callable[[District], list[DistrictSection]]] = {}
_map_layer_providers: dict[str, Callable[[District], list[DistrictMapLayer]]] = {}
_published_layers: dict[str, PublishedLayer] = {}


def register_district_sections(key: str, provider: Callable[[District], list[DistrictSection]]) -> None:
    """``provider(district)`` answers the sections an app adds to that district's karte."""
    _section_providers[key] = provider


def register_district_map_layers(key: str, provider: Callable[[District], list[DistrictMapLayer]]) -> None:
    """``provider(district)`` answers the map layers an app adds to that district's page."""
    _map_layer_providers[key] = provider


def register_published_layer(layer: PublishedLayer) -> None:
    """Serve ``layer`` at ``/api/<layer.name>/`` and offer it to the export command."""
    _published_layers[layer.name] = layer


def district_sections(district: District) -> list[DistrictSection]:
    """Every registered app's sections of ``district``'s karte, in registration order."""
    return [section for provider in _section_providers.values() for section in provider(district)]


def district_map_layers(district: District) -> list[DistrictMapLayer]:
    return [layer for provider in _map_layer_providers.values() for layer in provider(district)]


def published_layers() -> list[PublishedLayer]:
    return list(_published_layers.values())


def published_layer(name: str) -> PublishedLayer | None:
    return _published_layers.get(name)


__all__ = [
    "DistrictMapLayer", "DistrictSection", "PublishedLayer", "district_map_layers", "district_sections",
    "published_layer", "published_layers", "register_district_map_layers", "register_district_sections",
    "register_published_layer",
]
