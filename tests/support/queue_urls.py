"""The waiting room status poll's URL (the room page's own is queueing.gate.room_url)."""

from django.urls import reverse


def status_url(concert):
    return reverse("queueing:status", kwargs={"concert_id": concert.pk})
