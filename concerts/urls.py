from django.urls import path

from . import views

app_name = "concerts"

urlpatterns = [
    path("", views.concert_list, name="list"),
    path("concerts/<uuid:concert_id>/", views.concert_detail, name="detail"),
    path("concerts/<uuid:concert_id>/presales/<uuid:presale_id>/", views.presale_detail, name="presale"),
    path("concerts/<uuid:concert_id>/presales/<uuid:presale_id>/code/", views.presale_code, name="presale_code"),
]
