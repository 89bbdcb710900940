"""Routes of participation, under ``/participation/`` (namespace ``participation``)."""
from django.urls import path

from . import views

app_name = "participation"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("workshops/new/", views.workshop_new, name="workshop-new"),
    path("workshops/<int:workshop_id>/", views.workshop_detail, name="workshop"),
    path("workshops/<int:workshop_id>/revoke-code/", views.revoke_code, name="revoke-code"),
    path("workshops/<int:workshop_id>/close/", views.close, name="close"),
    path("workshops/<int:workshop_id>/freeze/", views.freeze, name="freeze"),
    path("workshops/<int:workshop_id>/export.geojson", views.export, {"fmt": "geojson"}, name="export-geojson"),
    path("workshops/<int:workshop_id>/export.csv", views.export, {"fmt": "csv"}, name="export-csv"),
    path("contributions/<int:contribution_id>/moderate/", views.moderate, name="moderate"),
    path("contributions/<int:contribution_id>/edit/", views.edit_own, name="edit"),
    path("contributions/<int:contribution_id>/photo.jpg", views.photo, name="photo"),
    path("join/", views.join, name="join"),
    path("join/<str:code>/", views.join, name="join-code"),
    path("w/<int:workshop_id>/", views.contribute, name="contribute"),
    path("editions/<int:edition_id>/karte.pdf", views.edition_pdf, name="edition-pdf"),
    path("editions/<int:edition_id>.json", views.edition_json, name="edition-json"),
]
