from django.urls import path

from . import views

app_name = "wallet"

urlpatterns = [
    path("wallet/", views.home, name="home"),
    path("wallet/charge/", views.charge_view, name="charge"),
]
