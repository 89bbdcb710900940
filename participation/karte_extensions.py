"""What participation adds to karte, through ``karte.layers.extensions`` (registered in
``ParticipationConfig.ready``):

- on a district's page and printed karte, a 地域の声 section: approved voices by category, resources
  residents named (those that could host a ひろば marked), ひろば proposals; on paper also the QR code
  and join code of the district's open workshop; on the page, the earlier editions (版);
- on the district page's map, the approved contributions as markers;
- ``/api/contributions/`` (and ``export_geojson --what contributions``): approved contributions as
  GeoJSON/CSV with each workshop's licence; nicknames only of participants who agreed.

Everything shown here is approved; text is passed as data and escaped where it is drawn.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import segno
from django.conf import settings
from django.db.models import QuerySet
from django.urls import reverse
from django.utils.translation import gettext as _

from karte.layers import ParameterError, lookups
from karte.layers.encoding import base_metadata, feature, feature_collection, point_parts, shapely_from_geos
from karte.layers.extensions import (
    DistrictMapLayer,
    DistrictSection,
    PublishedLayer,
    register_district_map_layers,
    register_district_sections,
    register_published_layer,
)
from karte.models import STORAGE_SRID, District, ResourceKind

from .models import Contribution, ContributionType, Edition, Status, VoiceCategory, Workshop

LAYER_NAME = "contributions"
TYPE_GLYPHS = {ContributionType.RESOURCE: "資", ContributionType.VOICE: "声", ContributionType.PROPOSAL: "案"}


def approved(queryset: QuerySet[Contribution] | None = None) -> QuerySet[Contribution]:
    queryset = Contribution.objects.all() if queryset is None else queryset
    return (queryset.filter(status=Status.APPROVED)
            .select_related("workshop", "workshop__district", "author").order_by("created_at", "pk"))


def of_district(district: District) -> QuerySet[Contribution]:
    return approved(Contribution.objects.filter(workshop__district=district))


def public_url(path: str) -> str:
    """An absolute URL for paper (the QR code): ``settings.KARTE_PUBLIC_URL`` + path."""
    return settings.KARTE_PUBLIC_URL.rstrip("/") + path


def join_url(workshop: Workshop) -> str:
    return public_url(reverse("participation:join-code", args=[workshop.join_code]))


def qr_svg(text: str, scale: int = 3) -> str:
    """A QR code as inline SVG (segno), for the printed karte and the facilitator's page."""
    return segno.make(text, error="m").svg_inline(scale=scale, dark="#000", light="#fff")


# ---------------------------------------------------------------------------------------------
# Records: the one description of a contribution shown, exported and frozen
# ---------------------------------------------------------------------------------------------

def contribution_properties(contribution: Contribution, *, with_status: bool = False) -> dict:
    """A contribution as flat data; the nickname only when its author agreed to show it."""
    author = contribution.author
    properties = {
        "id": contribution.pk,
        "workshop_id": contribution.workshop_id,
        "district_code": contribution.workshop.district.code,
        "type": contribution.type,
        "type_label": str(ContributionType(contribution.type).label),
        "title": contribution.title,
        "text": contribution.body,
        "resource_kind": contribution.resource_kind or None,
        "resource_kind_label": str(ResourceKind(contribution.resource_kind).label) if contribution.resource_kind else None,
        "name": contribution.name or None,
        "availability": contribution.availability or None,
        "could_host": contribution.could_host if contribution.type == ContributionType.RESOURCE else None,
        "host_verified": contribution.host_verified_at is not None,
        "voice_category": contribution.voice_category or None,
        "voice_category_label": (str(VoiceCategory(contribution.voice_category).label)
                                 if contribution.voice_category else None),
        "place": contribution.place or None,
        "activity": contribution.activity or None,
        "has_photo": bool(contribution.photo),
        "nickname": author.nickname if author.show_nickname else None,
        "created_at": contribution.created_at.isoformat() if contribution.created_at else None,
        "licence": contribution.workshop.licence,
    }
    if with_status:
        properties["status"] = contribution.status
        properties["moderation_reason"] = contribution.moderation_reason or None
    return properties


def workshop_metadata(workshop: Workshop) -> dict:
    return {"id": workshop.pk, "title": workshop.title, "held_on": workshop.held_on.isoformat(),
            "district_code": workshop.district.code, "licence": workshop.licence}


def contributions_collection(contributions: Iterable[Contribution], *, with_status: bool = False,
                             layer_metadata: dict | None = None) -> dict:
    """Contributions as RFC 7946 point features (WGS84); ``karte:metadata`` lists each workshop with
    its licence, and says that nicknames appear only where their authors agreed."""
    features = []
    workshops: dict[int, Workshop] = {}
    for contribution in contributions:
        geometry, lon, lat = point_parts(shapely_from_geos(contribution.location), source_srid=STORAGE_SRID)
        properties = contribution_properties(contribution, with_status=with_status) | {"lon": lon, "lat": lat}
        features.append(feature(contribution.pk, geometry, properties))
        workshops[contribution.workshop_id] = contribution.workshop
    metadata = base_metadata(LAYER_NAME)
    metadata.update(layer_metadata or {})
    licences = sorted({w.licence for w in workshops.values()})
    metadata.update({
        "workshops": [workshop_metadata(w) for w in sorted(workshops.values(), key=lambda w: w.pk)],
        "licence": licences[0] if len(licences) == 1 else None,
        "licence_note": "each feature's 'licence' is its workshop's; residents' nicknames only where they agreed",
        "sources": [],
        "feature_count": len(features),
    })
    return feature_collection(features, metadata)


def _positive_id(text: str | None, parameter: str) -> int | None:
    if text is None:
        return None
    if not text.isascii() or not text.isdigit() or not 0 < int(text) < 2**63:
        raise ParameterError(f"{parameter} must be a workshop id (a positive integer), not {text!r}", parameter)
    return int(text)


def build_public_layer(options: Mapping[str, str | None]) -> dict:
    """``/api/contributions/``: approved contributions, of a workshop, a district and/or a type."""
    queryset = Contribution.objects.all()
    workshop_id = _positive_id(options.get("workshop"), "workshop")
    if workshop_id is not None:
        if not Workshop.objects.filter(pk=workshop_id).exists():
            raise ParameterError(f"no workshop with id {workshop_id}", "workshop", status=404)
        queryset = queryset.filter(workshop_id=workshop_id)
    district_code = options.get("district")
    if district_code is not None:
        queryset = queryset.filter(workshop__district=lookups.get_district(district_code, parameter="district"))
    kind = options.get("type")
    if kind is not None:
        if kind not in ContributionType.values:
            raise ParameterError(f"type must be one of {', '.join(ContributionType.values)}, not {kind!r}", "type")
        queryset = queryset.filter(type=kind)
    return contributions_collection(approved(queryset), layer_metadata={
        "workshop_id": workshop_id, "district_code": district_code, "type": kind})


_NULLABLE_STRING = {"type": ["string", "null"]}
PROPERTIES_SCHEMA = {
    "type": "object",
    "required": ["id", "workshop_id", "district_code", "type", "text", "nickname", "licence", "lon", "lat"],
    "additionalProperties": False,
    "properties": {
        "id": {"type": "integer"}, "workshop_id": {"type": "integer"}, "district_code": {"type": "string"},
        "type": {"enum": list(ContributionType.values)}, "type_label": {"type": "string"},
        "title": {"type": "string"}, "text": {"type": "string"},
        "resource_kind": _NULLABLE_STRING, "resource_kind_label": _NULLABLE_STRING, "name": _NULLABLE_STRING,
        "availability": _NULLABLE_STRING, "could_host": {"type": ["boolean", "null"]},
        "host_verified": {"type": "boolean"}, "voice_category": {"enum": [*VoiceCategory.values, None]},
        "voice_category_label": _NULLABLE_STRING, "place": _NULLABLE_STRING, "activity": _NULLABLE_STRING,
        "has_photo": {"type": "boolean"},
        "nickname": {**_NULLABLE_STRING, "description": "only when the participant agreed to show it"},
        "created_at": _NULLABLE_STRING, "licence": {"type": "string"},
        "status": {"type": "string"}, "moderation_reason": _NULLABLE_STRING,
        "lon": {"type": ["number", "null"]}, "lat": {"type": ["number", "null"]},
    },
}
METADATA_SCHEMA = {
    "workshops": {"type": "array", "items": {
        "type": "object", "required": ["id", "title", "held_on", "district_code", "licence"],
        "properties": {"id": {"type": "integer"}, "title": {"type": "string"}, "held_on": {"type": "string"},
                       "district_code": {"type": "string"}, "licence": {"type": "string"}}}},
    "licence": _NULLABLE_STRING, "licence_note": {"type": "string"},
    "workshop_id": {"type": ["integer", "null"]}, "district_code": _NULLABLE_STRING, "type": _NULLABLE_STRING,
}
PUBLIC_LAYER = PublishedLayer(
    name=LAYER_NAME,
    summary="residents' contributions (資源・声・ひろばの提案) approved by a workshop's facilitator",
    build=build_public_layer,
    parameters=(
        {"name": "workshop", "in": "query", "required": False, "description": "workshop id",
         "schema": {"type": "integer", "minimum": 1}},
        {"name": "district", "in": "query", "required": False, "description": "district code",
         "schema": {"type": "string"}},
        {"name": "type", "in": "query", "required": False, "description": "resource, voice or proposal",
         "schema": {"type": "string", "enum": list(ContributionType.values)}},
    ),
    properties_schema=PROPERTIES_SCHEMA,
    metadata_schema=METADATA_SCHEMA,
)


# ---------------------------------------------------------------------------------------------
# The district's karte: sections and a map layer
# ---------------------------------------------------------------------------------------------

@dataclass
class VoicesSection:
    voices: list[tuple[str, list[Contribution]]]  # (category label, voices), in category order
    resources: list[Contribution]
    proposals: list[Contribution]
    open_workshops: list[dict]  # {workshop, join_url, code, qr_svg}

    @property
    def empty(self) -> bool:
        return not (self.voices or self.resources or self.proposals)


def _snapshot(contributions: list[Contribution]) -> list[dict]:
    return [contribution_properties(c) for c in contributions]


def district_sections(district: District) -> list[DistrictSection]:
    contributions = list(of_district(district))
    by_category = {category: [] for category in VoiceCategory.values}
    for c in contributions:
        if c.type == ContributionType.VOICE and c.voice_category in by_category:
            by_category[c.voice_category].append(c)
    voices = [(str(VoiceCategory(category).label), items) for category, items in by_category.items() if items]
    resources = [c for c in contributions if c.type == ContributionType.RESOURCE]
    proposals = [c for c in contributions if c.type == ContributionType.PROPOSAL]
    open_workshops = [
        {"workshop": w, "join_url": join_url(w), "code": w.join_code_display, "qr_svg": qr_svg(join_url(w))}
        for w in Workshop.objects.filter(district=district, closed_at__isnull=True).order_by("held_on", "pk")
        if w.is_open
    ]
    data = VoicesSection(voices=voices, resources=resources, proposals=proposals, open_workshops=open_workshops)
    sections = [] if data.empty and not open_workshops else [DistrictSection(
        key="voices", title=_("地域の声"), template="participation/karte/voices_section.html",
        print_template="participation/karte/voices_print.html", data=data,
        snapshot={"contributions": _snapshot(contributions)},
    )]
    editions = list(Edition.objects.filter(district=district).defer("pdf", "snapshot").order_by("-number"))
    if editions:
        sections.append(DistrictSection(key="editions", title=_("これまでの版"),
                                        template="participation/karte/editions_section.html", print_template="",
                                        data=editions))
    return sections


def district_map_layers(district: District) -> list[DistrictMapLayer]:
    contributions = list(of_district(district))
    if not contributions:
        return []
    collection = contributions_collection(contributions)
    for item in collection["features"]:
        p = item["properties"]
        label = p["voice_category_label"] or p["resource_kind_label"] or p["type_label"]
        # Only what the popup needs: label and text (drawn as text by the page's script).
        item["properties"] = {"label": f"{_('住民の投稿')}: {label} — {p['title']}", "text": p["text"],
                              "type": p["type"]}
    return [DistrictMapLayer(key="contributions", label=_("住民の投稿"), collection=collection,
                             glyph="声", colour="#e7298a")]


def register() -> None:
    register_district_sections("participation", district_sections)
    register_district_map_layers("participation", district_map_layers)
    register_published_layer(PUBLIC_LAYER)
