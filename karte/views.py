"""Views stay thin: they read what the loaders and the spatial core stored."""
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from .models import City, District, Resource


def home(request: HttpRequest) -> HttpResponse:
    context = {
        "cities": City.objects.all(),
        "district_count": District.objects.count(),
        "resource_count": Resource.objects.count(),
    }
    return render(request, "karte/home.html", context)


def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok", "database": connection.vendor, "engine": connection.settings_dict["ENGINE"]})
