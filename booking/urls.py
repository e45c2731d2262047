from django.urls import path

from . import door_views, views

app_name = "booking"

urlpatterns = [
    path("dates/<uuid:date_id>/seats/", views.seats, name="seats"),
    path("dates/<uuid:date_id>/seats/state/", views.seat_state, name="seat_state"),
    path("dates/<uuid:date_id>/hold/", views.hold, name="hold"),
    path("dates/<uuid:date_id>/pick/", views.pick, name="pick"),
    path("checkout/<uuid:date_id>/", views.checkout, name="checkout"),
    path("holds/<uuid:reservation_id>/release/", views.release, name="release"),
    path("dates/<uuid:date_id>/waitlist/", views.waitlist, name="waitlist"),
    path("waitlist/offers/<str:token>/", views.offer, name="offer"),
    path("reservations/", views.reservations, name="reservations"),
    path("reservations/<uuid:reservation_id>/ticket/", views.ticket, name="ticket"),
    path("reservations/<uuid:reservation_id>/cancel/", views.cancel_view, name="cancel"),
    # Staff at the entrance (booking/door_views.py).
    path("door/", door_views.door, name="door"),
    path("door/setup/", door_views.door_setup, name="door_setup"),
]
