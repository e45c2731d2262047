from django.urls import path

from . import views

app_name = "queueing"

urlpatterns = [
    path("concerts/<uuid:concert_id>/queue/", views.room, name="room"),
    path("concerts/<uuid:concert_id>/queue/status/", views.status, name="status"),
    path("concerts/<uuid:concert_id>/queue/challenge/", views.challenge, name="challenge"),
    path("concerts/<uuid:concert_id>/queue/leave/", views.leave_view, name="leave"),
    path("concerts/<uuid:concert_id>/draw/", views.draw_view, name="draw"),
    path("concerts/<uuid:concert_id>/draw.json", views.draw_json, name="draw_json"),
]
