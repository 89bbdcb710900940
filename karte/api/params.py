"""Strict query-parameter parsing: unknown or malformed parameters are HTTP 400 with a clear JSON
message ``{"error": ..., "parameter": ...}``, never a 500 and never silently ignored.

Every error is a :class:`karte.layers.ParameterError` (the read side's one bad-input error); the
status it carries (400, or 404 for a path naming nothing) becomes the response's."""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from functools import wraps

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from karte.httpcache import cached_read
from karte.layers import ParameterError, to_json

_CODE = re.compile(r"^[A-Za-z0-9_\-]{1,64}$")
JSON_DUMPS = {"ensure_ascii": False, "allow_nan": False}


def error_response(error: ParameterError) -> JsonResponse:
    """The JSON answer to a bad parameter, with the status the error carries."""
    return JsonResponse(error.as_dict(), status=error.status, json_dumps_params=JSON_DUMPS)


class QueryParams:
    """The request's query string, checked against the parameters an endpoint accepts."""

    def __init__(self, request: HttpRequest, allowed: Iterable[str]):
        self.allowed = frozenset(allowed)
        self.query = request.GET
        for name in self.query:
            if name not in self.allowed:
                expected = ", ".join(sorted(self.allowed)) or "none"
                raise ParameterError(f"unknown query parameter {name!r}; this endpoint accepts: {expected}", name)
            if len(self.query.getlist(name)) > 1:
                raise ParameterError(f"query parameter {name!r} given more than once", name)

    def text(self, name: str, default: str | None = None) -> str | None:
        value = self.query.get(name)
        if value is None or value.strip() == "":
            return default
        return value.strip()

    def code(self, name: str) -> str | None:
        value = self.text(name)
        if value is not None and not _CODE.match(value):
            raise ParameterError(f"{name} must be a code of letters, digits, '_' or '-', not {value!r}", name)
        return value

    def codes(self, name: str) -> list[str] | None:
        value = self.text(name)
        if value is None:
            return None
        codes = [part.strip() for part in value.split(",") if part.strip()]
        bad = [code for code in codes if not _CODE.match(code)]
        if bad or not codes:
            raise ParameterError(f"{name} must be a comma-separated list of codes, not {value!r}", name)
        return list(dict.fromkeys(codes))

    def integer(self, name: str, default: int | None = None, *, minimum: int, maximum: int) -> int | None:
        value = self.text(name)
        if value is None:
            return default
        try:
            number = int(value)
        except ValueError:
            raise ParameterError(f"{name} must be an integer, not {value!r}", name) from None
        if not minimum <= number <= maximum:
            raise ParameterError(f"{name} must be between {minimum} and {maximum}, not {number}", name)
        return number

    def number(self, name: str, default: float | None = None, *, minimum: float, maximum: float) -> float | None:
        value = self.text(name)
        if value is None:
            return default
        try:
            number = float(value)
        except ValueError:
            raise ParameterError(f"{name} must be a number, not {value!r}", name) from None
        if not minimum <= number <= maximum:  # also rejects NaN
            raise ParameterError(f"{name} must be between {minimum:g} and {maximum:g}, not {value}", name)
        return number

    def choice(self, name: str, choices: Iterable[str], default: str | None = None) -> str | None:
        value = self.text(name, default)
        options = list(choices)
        if value is not None and value not in options:
            raise ParameterError(f"{name} must be one of {', '.join(options)}, not {value!r}", name)
        return value

    def bbox(self, name: str = "bbox") -> tuple[float, float, float, float] | None:
        value = self.text(name)
        if value is None:
            return None
        parts = value.split(",")
        try:
            numbers = [float(part) for part in parts]
        except ValueError:
            numbers = []
        if len(numbers) != 4 or len(parts) != 4:
            raise ParameterError(f"{name} must be minlon,minlat,maxlon,maxlat (4 numbers), not {value!r}", name)
        min_lon, min_lat, max_lon, max_lat = numbers
        if not (-180 <= min_lon < max_lon <= 180 and -90 <= min_lat < max_lat <= 90):
            raise ParameterError(
                f"{name} must satisfy -180 <= minlon < maxlon <= 180 and -90 <= minlat < maxlat <= 90", name
            )
        return min_lon, min_lat, max_lon, max_lat


MAX_JSON_BODY_BYTES = 1_000_000  # a drawn polygon of MAX_VERTICES is ~60 kB


def json_body(request: HttpRequest) -> object:
    """The request's JSON body (a POST read), or ParameterError naming ``body``."""
    import json

    if len(request.body) > MAX_JSON_BODY_BYTES:
        raise ParameterError(f"the body is larger than {MAX_JSON_BODY_BYTES // 1000} kB", "body", status=413)
    try:
        return json.loads(request.body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise ParameterError("the body must be JSON (a GeoJSON geometry or Feature)", "body") from None


def api_endpoint(allowed: Iterable[str], *, cached: bool = True, post_read: bool = False) -> Callable:
    """GET/HEAD only (405 otherwise); query parameters checked; parameter errors as JSON 400;
    answers from the database cached per data version and revalidated with ETag (``karte.httpcache``).

    ``post_read``: POST is accepted too, as a read whose question is too large for a URL (a drawn
    polygon as GeoJSON); the view gets ``body=`` (the parsed JSON). Such a POST stores nothing and
    uses no session or cookie, so it needs no CSRF token (CSRF guards against a forged request
    acting with the visitor's credentials; this one has none to act with and changes nothing), and
    it is never cached (``karte.httpcache`` caches GET/HEAD only)."""
    allowed = frozenset(allowed)
    methods = ("GET", "HEAD", "POST") if post_read else ("GET", "HEAD")

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @csrf_exempt  # read-only: so a POST gets the honest 405, not a CSRF 403
        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if request.method not in methods:
                response = error_response(ParameterError(
                    f"method {request.method} not allowed: the API is read-only", None, status=405))
                response["Allow"] = ", ".join(methods)
                return response
            try:
                params = QueryParams(request, allowed)
                if post_read:
                    kwargs["body"] = json_body(request) if request.method == "POST" else None
                return view(request, params, *args, **kwargs)
            except ParameterError as error:
                return error_response(error)

        return cached_read(shared=True)(wrapper) if cached else wrapper

    return decorator


def json_response(payload: dict, *, geojson: bool = False, status: int = 200) -> HttpResponse:
    content_type = "application/geo+json" if geojson else "application/json"
    body = to_json(payload)
    return HttpResponse(body, status=status, content_type=f"{content_type}; charset=utf-8")


def csv_response(text: str, filename: str) -> HttpResponse:
    response = HttpResponse(text, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
