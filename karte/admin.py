"""Admin for every model. Census geometries and figures come from loads and are read-only here:
editing them by hand would break their provenance."""
from django.contrib import admin
from django.contrib.gis.admin import GISModelAdmin

from . import models


@admin.register(models.Dataset)
class DatasetAdmin(admin.ModelAdmin):
    list_display = ["source_name", "kind", "vintage", "file_name", "row_count", "loaded_at"]
    list_filter = ["kind", "vintage"]
    search_fields = ["source_name", "file_name", "checksum"]
    readonly_fields = ["checksum", "loaded_at", "row_count", "rows_created", "rows_updated", "notes"]


@admin.register(models.City)
class CityAdmin(GISModelAdmin):
    list_display = ["code", "name_ja", "name_en", "projected_srid"]
    readonly_fields = ["geom"]


@admin.register(models.Ward)
class WardAdmin(GISModelAdmin):
    list_display = ["code", "name_ja", "name_en", "city"]
    list_filter = ["city"]
    readonly_fields = ["geom"]


@admin.register(models.District)
class DistrictAdmin(GISModelAdmin):
    list_display = ["code", "name_ja", "name_romaji", "ward", "school_name"]
    list_filter = ["city", "ward"]
    search_fields = ["code", "name_ja", "name_romaji", "school_name"]
    readonly_fields = ["geom", "dataset"]


@admin.register(models.CensusArea)
class CensusAreaAdmin(GISModelAdmin):
    list_display = ["key_code", "name_ja", "census_year", "city_code", "hcode"]
    list_filter = ["census_year", "hcode", "city_code"]
    search_fields = ["key_code", "name_ja"]
    readonly_fields = [f.name for f in models.CensusArea._meta.fields]


@admin.register(models.CensusFigure)
class CensusFigureAdmin(admin.ModelAdmin):
    list_display = ["key_code", "census_year", "variable", "value", "status"]
    list_filter = ["census_year", "status", "variable"]
    search_fields = ["key_code", "variable"]
    readonly_fields = [f.name for f in models.CensusFigure._meta.fields]


@admin.register(models.Resource)
class ResourceAdmin(GISModelAdmin):
    list_display = ["name", "kind", "is_public", "district", "address"]
    list_filter = ["kind", "is_public", "city"]
    search_fields = ["name", "address", "source_key"]
    readonly_fields = ["source_key", "dataset"]


@admin.register(models.IndicatorValue)
class IndicatorValueAdmin(admin.ModelAdmin):
    list_display = ["indicator", "tier", "area_code", "year", "value", "unit", "rank", "method"]
    list_filter = ["tier", "indicator", "year", "city"]
    search_fields = ["area_code", "indicator"]
    readonly_fields = [f.name for f in models.IndicatorValue._meta.fields]


@admin.register(models.AreaStatistic)
class AreaStatisticAdmin(admin.ModelAdmin):
    list_display = ["area_code", "area_name", "year", "variable", "value", "unit", "status"]
    list_filter = ["year", "variable"]
    readonly_fields = [f.name for f in models.AreaStatistic._meta.fields]


@admin.register(models.RasterLayer)
class RasterLayerAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "crs", "unit", "path"]
    readonly_fields = ["path", "crs", "bounds", "dataset"]


@admin.register(models.CandidateSite)
class CandidateSiteAdmin(admin.ModelAdmin):
    list_display = ["resource", "walk_distance_m", "score", "elderly_reached", "uncovered_elderly_reached"]
    list_filter = ["walk_distance_m"]
    readonly_fields = [f.name for f in models.CandidateSite._meta.fields]


@admin.register(models.SitingRun)
class SitingRunAdmin(admin.ModelAdmin):
    list_display = ["created_at", "city", "ward", "k", "walk_distance_m", "solver", "covered_before", "covered_after"]
    readonly_fields = [f.name for f in models.SitingRun._meta.fields]


@admin.register(models.BackgroundJob)
class BackgroundJobAdmin(admin.ModelAdmin):
    """Jobs are written by the worker (karte.tasks); the admin shows them, it does not run or edit them."""

    list_display = ["pk", "kind", "status", "progress", "message", "attempts", "created_by", "created_at", "finished_at"]
    list_filter = ["kind", "status"]
    readonly_fields = [field.name for field in models.BackgroundJob._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
