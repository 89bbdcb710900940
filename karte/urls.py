from django.contrib import admin
from django.urls import include, path

from . import views, views_map, views_ops, views_print

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views_ops.healthz, name="healthz"),
    path("jobs/<uuid:public_id>/", views_ops.job_status, name="job-status"),
    path("districts/<str:code>/", views.district_detail, name="district"),
    path("wards/<str:code>/", views.ward_detail, name="ward"),
    path("siting/", views.siting, name="siting"),
    path("map-data/districts/", views_map.districts, name="map-data-districts"),
    path("map-data/resources/", views_map.resources, name="map-data-resources"),
    path("map-data/candidates/", views_map.candidates, name="map-data-candidates"),
    path("map-data/wards/", views_map.wards, name="map-data-wards"),
    path("map-data/siting/<int:run_id>/", views_map.siting_run, name="map-data-siting"),
    path("districts/<str:code>/karte.pdf", views_print.district_karte_pdf, name="district-karte-pdf"),
    path("wards/<str:code>/karte.pdf", views_print.ward_karte_pdf, name="ward-karte-pdf"),
    path("api/", include("karte.api.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
]

# Our own 500 page, rendered without the database or the request (karte.errorpages).
handler500 = "karte.errorpages.server_error"
