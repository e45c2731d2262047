"""The JSON API's URLs: ninja's, each answering a method it does not take as a problem (405), then every other path
under the API's root, a 404 problem (api.problems). ninja's URL names live in the namespace "api"."""

from django.urls import URLPattern, URLResolver, include, path, re_path

from .problems import answering_405, no_such_path
from .v1 import api

_patterns, _app_name, _namespace = api.urls
_routes: list[URLPattern | URLResolver] = [
    answering_405(pattern) if isinstance(pattern, URLPattern) else pattern for pattern in _patterns
]
_routes.append(re_path(r"^.*$", no_such_path, name="no-such-path"))

urlpatterns = [path("", include((_routes, _app_name), namespace=_namespace))]
