"""Karte's data model: the three tiers (市域 city, 区域 ward, 地域 district), census small areas and
their figures, resources for まちのひろば, computed indicators, and the provenance of every load.

Geometries are stored in JGD2011 geographic coordinates (EPSG:6668, lon/lat in degrees); metric work
(areas, buffers, distances) is done by the spatial core in the city's projected CRS
(``City.projected_srid``, JGD2011 plane rectangular zone IX = EPSG:6677 for Kawasaki).
"""
from __future__ import annotations

import secrets
import uuid

from django.conf import settings
from django.contrib.gis.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from loaders.kinds import PUBLIC_KINDS as loader_public_kinds

STORAGE_SRID = 6668


class Dataset(models.Model):
    """Provenance of one loaded file: where a figure came from, in what vintage, and what it changed."""

    class Kind(models.TextChoices):
        CENSUS_TABLE = "census_table", _("国勢調査 小地域集計")
        CENSUS_BOUNDARY = "census_boundary", _("小地域境界")
        SCHOOL_DISTRICT = "school_district", _("小学校区")
        ADMIN_BOUNDARY = "admin_boundary", _("行政区域")
        RESOURCE = "resource", _("施設・資源")
        HOUSING = "housing", _("住宅")
        RASTER = "raster", _("ラスター")
        MESH = "mesh", _("地域メッシュ統計")
        DERIVED = "derived", _("計算結果")
        CONTRIBUTED = "contributed", _("住民の投稿")

    kind = models.CharField(max_length=32, choices=Kind.choices)
    source_name = models.CharField(_("source"), max_length=200)
    url = models.URLField(_("URL"), max_length=500, blank=True)
    licence = models.CharField(_("licence"), max_length=200, blank=True)
    attribution = models.TextField(_("attribution"), blank=True)
    vintage = models.PositiveSmallIntegerField(_("vintage (year)"), null=True, blank=True)
    file_name = models.CharField(max_length=300, blank=True)
    checksum = models.CharField(_("SHA-256 of the file"), max_length=64, blank=True, db_index=True)
    loaded_at = models.DateTimeField(auto_now=True)
    row_count = models.PositiveIntegerField(default=0)
    rows_created = models.PositiveIntegerField(default=0)
    rows_updated = models.PositiveIntegerField(default=0)
    notes = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("dataset")
        constraints = [
            models.UniqueConstraint(fields=["kind", "source_name", "checksum"], name="dataset_unique_file"),
        ]

    def __str__(self) -> str:
        year = f" {self.vintage}" if self.vintage else ""
        return f"{self.source_name}{year} ({self.file_name})"


class City(models.Model):
    """市: a municipality (designated city) identified by its 5-digit JIS code (e.g. 14130 川崎市)."""

    code = models.CharField(_("JIS code"), max_length=5, unique=True)
    name_ja = models.CharField(_("name (Japanese)"), max_length=100)
    name_en = models.CharField(_("name (romaji)"), max_length=100, blank=True)
    projected_srid = models.PositiveIntegerField(
        _("projected CRS for metric work"), default=settings.KARTE_DEFAULT_PROJECTED_SRID,
        help_text=_("EPSG code of the plane rectangular zone used for areas and distances."),
    )
    geom = models.MultiPolygonField(srid=STORAGE_SRID, null=True, blank=True)

    class Meta:
        verbose_name = _("city")
        verbose_name_plural = _("cities")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name_ja


class Ward(models.Model):
    """区: an administrative ward of a designated city, by its 5-digit JIS code (e.g. 14131 川崎区)."""

    city = models.ForeignKey(City, on_delete=models.CASCADE, related_name="wards")
    code = models.CharField(_("JIS code"), max_length=5, unique=True)
    name_ja = models.CharField(_("name (Japanese)"), max_length=100)
    name_en = models.CharField(_("name (romaji)"), max_length=100, blank=True)
    geom = models.MultiPolygonField(srid=STORAGE_SRID, null=True, blank=True)

    class Meta:
        verbose_name = _("ward")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name_ja


class District(models.Model):
    """地域: an elementary-school district (小学校区), the unit of a karte."""

    city = models.ForeignKey(City, on_delete=models.CASCADE, related_name="districts")
    ward = models.ForeignKey(Ward, on_delete=models.SET_NULL, null=True, blank=True, related_name="districts")
    code = models.CharField(_("district code"), max_length=32, unique=True)
    name_ja = models.CharField(_("name (Japanese)"), max_length=100)
    name_romaji = models.CharField(_("name (romaji)"), max_length=100, blank=True)
    school_name = models.CharField(_("school"), max_length=100, blank=True)
    school_address = models.CharField(_("school address"), max_length=200, blank=True)
    geom = models.MultiPolygonField(srid=STORAGE_SRID)
    dataset = models.ForeignKey(Dataset, on_delete=models.PROTECT, null=True, blank=True)

    class Meta:
        verbose_name = _("district")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name_ja


class CensusArea(models.Model):
    """小地域 (町丁・字等): a census small area of one census year, keyed by e-Stat's KEY_CODE."""

    key_code = models.CharField(max_length=16)
    census_year = models.PositiveSmallIntegerField()
    name_ja = models.CharField(max_length=150, blank=True)
    city_code = models.CharField(max_length=5, db_index=True, help_text=_("5-digit JIS code of the 市区町村 (ward level)"))
    hcode = models.PositiveSmallIntegerField(
        default=8101, help_text=_("8101: ordinary area; 8154: water surface (not residential)")
    )
    area_m2 = models.FloatField(null=True, blank=True)
    geom = models.MultiPolygonField(srid=STORAGE_SRID)
    dataset = models.ForeignKey(Dataset, on_delete=models.PROTECT, null=True, blank=True)

    class Meta:
        verbose_name = _("census small area")
        constraints = [models.UniqueConstraint(fields=["key_code", "census_year"], name="censusarea_key_year")]
        ordering = ["census_year", "key_code"]

    def __str__(self) -> str:
        return f"{self.key_code} {self.name_ja} ({self.census_year})"


class CensusFigure(models.Model):
    """A tidy census cell: small area × census year × variable → value.

    Suppressed cells (秘匿 ``X``) and cells merged into another area (HTKSYORI) are stored with
    ``value=None`` and their status, never as zero.
    """

    class Status(models.TextChoices):
        OK = "ok", _("値あり")
        ZERO = "zero", _("該当なし (-)")
        SUPPRESSED = "suppressed", _("秘匿 (X)")
        MERGED = "merged", _("他地域に合算")
        UNKNOWN = "unknown", _("不詳・不明")

    key_code = models.CharField(max_length=16)
    census_year = models.PositiveSmallIntegerField()
    variable = models.CharField(max_length=64)
    value = models.FloatField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OK)
    merged_into = models.CharField(max_length=16, blank=True, help_text=_("HTKSAKI: the area that carries this cell"))
    dataset = models.ForeignKey(Dataset, on_delete=models.PROTECT, null=True, blank=True)

    class Meta:
        verbose_name = _("census figure")
        constraints = [
            models.UniqueConstraint(fields=["key_code", "census_year", "variable"], name="censusfigure_natural_key"),
        ]
        indexes = [models.Index(fields=["census_year", "variable"])]

    def __str__(self) -> str:
        return f"{self.key_code} {self.census_year} {self.variable}={self.value}"


class ResourceKind(models.TextChoices):
    """Controlled vocabulary of public and private resources for まちのひろば."""

    CIVIC_HALL = "civic_hall", _("市民館")
    LIBRARY = "library", _("図書館")
    SCHOOL = "school", _("学校")
    NURSERY = "nursery", _("保育所")
    CHILDREN_CULTURE_CENTRE = "children_culture_centre", _("こども文化センター")
    ELDERLY_WELFARE_CENTRE = "elderly_welfare_centre", _("老人福祉センター")
    IKOI_NO_IE = "ikoi_no_ie", _("いこいの家")
    CHILDCARE_SUPPORT_CENTRE = "childcare_support_centre", _("地域子育て支援センター")
    WELFARE_FACILITY = "welfare_facility", _("福祉施設")
    PUBLIC_FACILITY = "public_facility", _("公共施設")
    PARK = "park", _("公園")
    COMMUNITY_HALL = "community_hall", _("町内会館")
    VACANT_HOUSE = "vacant_house", _("空き家")
    VACANT_SHOP = "vacant_shop", _("空き店舗")
    CAFE = "cafe", _("カフェ")
    PUBLIC_OPEN_SPACE = "public_open_space", _("公開空地")
    SHRINE_TEMPLE = "shrine_temple", _("神社仏閣")
    FARMLAND = "farmland", _("農地")
    GREEN_SPACE = "green_space", _("緑地")
    # Private resources residents name in workshops (no open data holds them).
    ROOM = "room", _("部屋・集会室")
    OPEN_SPACE = "open_space", _("空き地・広場")
    SHOP = "shop", _("商店")
    GROUP_CIRCLE = "group_circle", _("団体・サークル")
    OTHER = "other", _("その他")


# Kinds that already work as gathering places (居場所) when measuring walk coverage.
GATHERING_PLACE_KINDS = frozenset({
    ResourceKind.CIVIC_HALL, ResourceKind.LIBRARY, ResourceKind.CHILDREN_CULTURE_CENTRE,
    ResourceKind.ELDERLY_WELFARE_CENTRE, ResourceKind.IKOI_NO_IE, ResourceKind.CHILDCARE_SUPPORT_CENTRE,
    ResourceKind.COMMUNITY_HALL, ResourceKind.CAFE,
})
# Which kinds are public facilities is the loaders' knowledge (they set ``is_public`` on load);
# naming each through ResourceKind fails at import if the two vocabularies ever drift apart.
PUBLIC_KINDS = frozenset(ResourceKind(kind) for kind in loader_public_kinds)


class Resource(models.Model):
    """A public or private resource: a facility, park, vacant house, café… (point or polygon)."""

    source_key = models.CharField(
        max_length=200, unique=True, help_text=_("natural key: source prefix + the feature's id in its source")
    )
    kind = models.CharField(max_length=32, choices=ResourceKind.choices, db_index=True)
    name = models.CharField(max_length=200, blank=True)
    address = models.CharField(max_length=300, blank=True)
    is_public = models.BooleanField(default=True)
    geom = models.GeometryField(srid=STORAGE_SRID, help_text=_("point or polygon as in the source"))
    location = models.PointField(srid=STORAGE_SRID, help_text=_("a point on the resource, for distances"))
    area_m2 = models.FloatField(null=True, blank=True)
    city = models.ForeignKey(City, on_delete=models.SET_NULL, null=True, blank=True, related_name="resources")
    district = models.ForeignKey(
        District, on_delete=models.SET_NULL, null=True, blank=True, related_name="resources"
    )
    attributes = models.JSONField(default=dict, blank=True)
    dataset = models.ForeignKey(Dataset, on_delete=models.PROTECT, null=True, blank=True)

    class Meta:
        verbose_name = _("resource")
        ordering = ["kind", "name"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.name}".strip()

    @property
    def is_gathering_place(self) -> bool:
        return self.kind in GATHERING_PLACE_KINDS


class IndicatorValue(models.Model):
    """A computed indicator for one area of one tier (地域 district, 区域 ward, 市域 city) and year.

    ``method`` and ``inputs`` say how it was computed and from which datasets, so every figure shown
    can say where it came from.
    """

    class Tier(models.TextChoices):
        DISTRICT = "district", _("地域")
        WARD = "ward", _("区域")
        CITY = "city", _("市域")

    tier = models.CharField(max_length=8, choices=Tier.choices)
    area_code = models.CharField(max_length=32, help_text=_("district, ward or city code"))
    city = models.ForeignKey(City, on_delete=models.CASCADE, related_name="indicator_values")
    indicator = models.CharField(max_length=64)
    year = models.PositiveSmallIntegerField()
    value = models.FloatField(null=True, blank=True)
    unit = models.CharField(max_length=32, blank=True)
    rank = models.PositiveIntegerField(null=True, blank=True, help_text=_("rank among the city's districts (1 = highest)"))
    uncertain_share = models.FloatField(
        null=True, blank=True, help_text=_("share of the value resting on suppressed or imputed input (0–1)")
    )
    method = models.CharField(max_length=300, blank=True)
    inputs = models.JSONField(default=dict, blank=True)
    computed_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("indicator value")
        constraints = [
            models.UniqueConstraint(fields=["tier", "area_code", "indicator", "year"], name="indicatorvalue_natural_key"),
        ]
        indexes = [models.Index(fields=["city", "indicator", "year"])]

    def __str__(self) -> str:
        return f"{self.tier}:{self.area_code} {self.indicator} {self.year} = {self.value}"


class AreaStatistic(models.Model):
    """A figure published for a whole municipality or ward, e.g. 住宅・土地統計調査 vacancy rates.

    ``area_code`` is the 5-digit JIS code (ward or city); suppressed or missing cells are stored as
    ``value=None`` with their status.
    """

    area_code = models.CharField(max_length=16)
    area_name = models.CharField(max_length=100, blank=True)
    year = models.PositiveSmallIntegerField()
    variable = models.CharField(max_length=64)
    value = models.FloatField(null=True, blank=True)
    unit = models.CharField(max_length=32, blank=True)
    status = models.CharField(max_length=16, choices=CensusFigure.Status.choices, default=CensusFigure.Status.OK)
    dataset = models.ForeignKey(Dataset, on_delete=models.PROTECT, null=True, blank=True)

    class Meta:
        verbose_name = _("area statistic")
        constraints = [
            models.UniqueConstraint(fields=["area_code", "year", "variable"], name="areastatistic_natural_key"),
        ]

    def __str__(self) -> str:
        return f"{self.area_code} {self.year} {self.variable}={self.value}"


class RasterLayer(models.Model):
    """A raster kept as a file (GeoTIFF) under settings.KARTE_RASTER_DIR and read by the spatial core."""

    class Kind(models.TextChoices):
        POPULATION = "population", _("人口メッシュ")
        HAZARD = "hazard", _("災害リスク (浸水深など)")
        LAND_USE = "land_use", _("土地利用")
        OTHER = "other", _("その他")

    name = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    path = models.CharField(max_length=500, help_text=_("file path, relative to KARTE_RASTER_DIR"))
    crs = models.CharField(max_length=100)
    unit = models.CharField(max_length=32, blank=True)
    nodata = models.FloatField(null=True, blank=True)
    bounds = models.JSONField(default=list, blank=True, help_text=_("[minx, miny, maxx, maxy] in the raster's CRS"))
    threshold = models.FloatField(
        null=True, blank=True, help_text=_("for hazard layers: cells at or above this value count as in the zone")
    )
    dataset = models.ForeignKey(Dataset, on_delete=models.PROTECT, null=True, blank=True)

    class Meta:
        verbose_name = _("raster layer")

    def __str__(self) -> str:
        return self.name


class CandidateSite(models.Model):
    """A resource scored as a candidate まちのひろば for one walking distance."""

    resource = models.ForeignKey(Resource, on_delete=models.CASCADE, related_name="candidate_scores")
    walk_distance_m = models.PositiveIntegerField(default=500)
    score = models.FloatField(help_text=_("weighted elderly within walking distance not yet covered"))
    elderly_reached = models.FloatField(default=0)
    elderly_alone_reached = models.FloatField(default=0)
    uncovered_elderly_reached = models.FloatField(default=0)
    method = models.CharField(max_length=300, blank=True)
    computed_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("candidate site")
        constraints = [
            models.UniqueConstraint(fields=["resource", "walk_distance_m"], name="candidatesite_resource_distance"),
        ]
        ordering = ["-score"]

    def __str__(self) -> str:
        return f"{self.resource} ({self.walk_distance_m} m): {self.score:.1f}"


class SitingRun(models.Model):
    """One run of the ひろば siting (maximal covering): its parameters and its result."""

    city = models.ForeignKey(City, on_delete=models.CASCADE, related_name="siting_runs")
    ward = models.ForeignKey(Ward, on_delete=models.SET_NULL, null=True, blank=True)
    candidate_kinds = models.JSONField(default=list)
    walk_distance_m = models.PositiveIntegerField(default=500)
    k = models.PositiveSmallIntegerField(default=5)
    solver = models.CharField(max_length=16, default="greedy", help_text=_("greedy or exact (MILP, HiGHS)"))
    demand_total = models.FloatField(default=0)
    covered_before = models.FloatField(default=0)
    covered_after = models.FloatField(default=0)
    gap = models.FloatField(null=True, blank=True, help_text=_("relative gap between greedy and exact, if both ran"))
    chosen = models.JSONField(default=list, help_text=_("[{resource_id, newly_covered}] in the order chosen"))
    runtime_s = models.FloatField(default=0)
    method = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    # What the home map and /api/siting/latest/ show: only runs someone allowed to publish chose to.
    published = models.BooleanField(default=False, db_index=True)
    published_at = models.DateTimeField(null=True, blank=True)
    published_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                     related_name="+")

    class Meta:
        verbose_name = _("siting run")
        ordering = ["-created_at"]
        permissions = [("publish_sitingrun", "Can publish a siting run (the home map shows it)")]

    def __str__(self) -> str:
        return f"siting {self.city} k={self.k} {self.walk_distance_m} m ({self.solver})"


class CensusAreaCorrespondence(models.Model):
    """How a small area of one census vintage maps onto the next (町名変更, 分割, 統合).

    ``area_share`` is the share of the OLD area lying in the NEW one (1 for a rename), used to
    carry an old vintage's figures over to the new areas (``loaders.census.harmonise_to_new_codes``).
    """

    class Relation(models.TextChoices):
        RENAME = "rename", _("コード変更")
        SPLIT = "split", _("分割")
        MERGE = "merge", _("統合")

    old_year = models.PositiveSmallIntegerField()
    old_key_code = models.CharField(max_length=16)
    new_year = models.PositiveSmallIntegerField()
    new_key_code = models.CharField(max_length=16)
    relation = models.CharField(max_length=8, choices=Relation.choices)
    area_share = models.FloatField(default=1.0)
    dataset = models.ForeignKey(Dataset, on_delete=models.PROTECT, null=True, blank=True)

    class Meta:
        verbose_name = _("census area correspondence")
        constraints = [
            models.UniqueConstraint(fields=["old_year", "old_key_code", "new_year", "new_key_code"],
                                    name="censusareacorrespondence_natural_key"),
        ]

    def __str__(self) -> str:
        return f"{self.old_key_code} ({self.old_year}) → {self.new_key_code} ({self.new_year})"


class DataVersion(models.Model):
    """One row counting the changes to what Karte shows: every load, compute and stored edit bumps it
    in the same transaction as the change, so a reader that sees the new version sees the new data.

    Cached read responses are keyed by ``(token, version)``; ``token`` is drawn anew whenever the row
    is created (an emptied or restored database never reuses an old key). ``changed_at`` is the
    responses' Last-Modified.
    """

    token = models.CharField(max_length=32)
    version = models.PositiveBigIntegerField(default=1)
    changed_at = models.DateTimeField()

    class Meta:
        verbose_name = _("data version")

    def __str__(self) -> str:
        return f"data version {self.token[:8]}-{self.version} ({self.changed_at:%Y-%m-%d %H:%M:%S})"


def bump_data_version() -> None:
    """Count a change to the data shown (inside the caller's transaction, if any)."""
    now = timezone.now()
    if not DataVersion.objects.filter(pk=1).update(version=models.F("version") + 1, changed_at=now):
        DataVersion.objects.get_or_create(pk=1, defaults={"token": secrets.token_hex(16), "changed_at": now})


class BackgroundJob(models.Model):
    """A piece of long work run by the task worker (``karte.tasks``): what was asked, how far it is and
    what came of it, so that a page can poll it (``/jobs/<public_id>/``) and an operator can see it.

    ``status`` moves queued → running → done | failed | timed_out; a job whose worker died while
    running goes back to queued (``attempts`` counts its starts) until ``KARTE_TASK_MAX_ATTEMPTS``.
    ``result`` is the JSON the job's function returned; ``error`` a message for a person, never a
    traceback (that goes to the worker's log).
    """

    class Status(models.TextChoices):
        QUEUED = "queued", _("待機中")
        RUNNING = "running", _("実行中")
        DONE = "done", _("完了")
        FAILED = "failed", _("失敗")
        TIMED_OUT = "timed_out", _("時間切れ")

    FINISHED = (Status.DONE, Status.FAILED, Status.TIMED_OUT)

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False,
                                help_text=_("the job's address in /jobs/<id>/ (not guessable)"))
    kind = models.CharField(max_length=40, help_text=_("registered job kind, e.g. siting"))
    parameters = models.JSONField(default=dict)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.QUEUED, db_index=True)
    progress = models.PositiveSmallIntegerField(default=0, help_text=_("0–100"))
    message = models.CharField(max_length=300, blank=True, help_text=_("what the job is doing now"))
    result = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    time_limit_s = models.FloatField(help_text=_("the time cap the job runs under, in seconds"))
    worker = models.CharField(max_length=120, blank=True, help_text=_("host:pid of the worker running it"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="karte_jobs")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("background job")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk} ({self.status})"

    @property
    def finished(self) -> bool:
        return self.status in self.FINISHED
