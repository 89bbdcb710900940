"""How the pages answer bad input: a path naming nothing is the 404 page; any other bad parameter a
400 with the message — never a 500, never a traceback. The API answers JSON instead (karte.api.params)."""
from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest

from karte.layers import NotFoundError, ParameterError


def page_errors(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Turn the read side's :class:`ParameterError` into the page's answer."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except NotFoundError as error:
            raise Http404(error.message) from None
        except ParameterError as error:
            return HttpResponseBadRequest(error.message, content_type="text/plain; charset=utf-8")

    return wrapper
