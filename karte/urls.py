from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from .views import ops, pages, pdf, tiles

urlpatterns = [
    path("", pages.home, name="home"),
    path("healthz", ops.healthz, name="healthz"),
    path("jobs/<uuid:public_id>/", ops.job_status, name="job-status"),
    path("jobs/<uuid:public_id>/view", ops.job_page, name="job-page"),
    path("jobs/<uuid:public_id>/file", ops.job_file, name="job-file"),
    path("wards/<str:code>/karte-job", ops.ward_pdf_job, name="ward-pdf-job"),
    path("cities/<str:code>/karte-job", ops.city_pdf_job, name="city-pdf-job"),
    path("language/", pages.language, name="language"),
    path("districts/<str:code>/", pages.district_detail, name="district"),
    path("wards/<str:code>/", pages.ward_detail, name="ward"),
    path("area/", pages.area_detail, name="area"),
    path("area/karte.pdf", pdf.area_karte_pdf, name="area-karte-pdf"),
    path("cities/<str:code>/", pages.city_detail, name="city"),
    path("cities/<str:code>/data/", pages.city_data_report, name="city-data-report"),
    path("siting/", pages.siting, name="siting"),
    path("siting/<int:run_id>/publish/", pages.siting_publish, name="siting-publish"),
    path("districts/<str:code>/karte.pdf", pdf.district_karte_pdf, name="district-karte-pdf"),
    path("wards/<str:code>/karte.pdf", pdf.ward_karte_pdf, name="ward-karte-pdf"),
    path("cities/<str:code>/karte.pdf", pdf.city_karte_pdf, name="city-karte-pdf"),
    path("api/", include("karte.api.urls")),
    path("tiles/<str:layer>.json", tiles.tilejson, name="tilejson"),
    path("tiles/<str:layer>/<str:z>/<str:x>/<str:y>.<str:fmt>", tiles.vector_tile, name="tile"),
    path("i18n/", include("django.conf.urls.i18n")),
    # Log in and out only: accounts are made by an administrator (no sign-up, no e-mailed resets).
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("participation/", include("participation.urls")),
    path("admin/", admin.site.urls),
]

# Our own 500 page, rendered without the database or the request (karte.errorpages).
handler500 = "karte.errorpages.server_error"
