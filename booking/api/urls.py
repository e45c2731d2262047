from django.urls import path

from .v1 import api

urlpatterns = [path("", api.urls)]  # ninja's URL names live in the namespace "api"
