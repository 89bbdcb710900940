"""Routes of the read-only API; the names are a contract with the map pages (docs/export.md).
Layers other apps publish (``karte.layers.extensions``) are served at ``<name>/`` beside karte's own."""
from django.urls import path

from karte.layers.extensions import published_layers

from . import views

app_name = "api"
urlpatterns = [
    path("districts/", views.districts_list, name="districts"),
    path("districts/<str:code>/", views.district_detail, name="district"),
    path("wards/", views.wards_list, name="wards"),
    path("resources/", views.resources_list, name="resources"),
    path("candidates/", views.candidates_list, name="candidates"),
    path("siting/latest/", views.siting_latest, name="siting-latest"),
    path("siting/<int:run_id>/", views.siting_detail, name="siting"),
    path("indicators/", views.indicators_view, name="indicators"),
    path("area/", views.area_view, name="area"),
    path("small-areas/", views.small_areas_list, name="small-areas"),
    path("search/", views.search_view, name="search"),
    path("openapi.json", views.openapi_json, name="openapi"),
    *[path(f"{layer.name}/", views.published_layer_view(layer), name=layer.name) for layer in published_layers()],
]
