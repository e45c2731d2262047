"""`{% queue_challenge concert user as challenge %}`: what templates/queueing/_challenge.html needs to show the
entry challenge's widget in a join form (its challenge URL and its texts in the active language), or None when
this fan has nothing to solve there: logged out, the waiting room not open, the room's challenge off, or a place
already held in that room.
"""

import json
from dataclasses import dataclass

from django import template
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext

from accounts.models import User
from concerts.models import Concert
from queueing import selectors, services

register = template.Library()


@dataclass(frozen=True)
class EntryChallenge:
    url: str  # the challenge JSON the widget fetches (queueing:challenge)
    strings: str  # the widget's texts, JSON for its `strings` attribute


def widget_strings() -> dict[str, str]:
    """The ALTCHA widget's texts in the active language (its own are English; these replace them)."""
    return {
        "label": gettext("Checked automatically when you join"),
        "loading": gettext("Loading…"),
        "verify": gettext("Check now"),
        "verifying": gettext("Checking this browser…"),
        "verified": gettext("Check done"),
        "verificationRequired": gettext("Please wait until the check is done."),
        "error": gettext("The check failed. Please try again."),
        "expired": gettext("The check has expired. Please try again."),
        "reload": gettext("Try again"),
        # No pop-up when a fan clicks again while the check runs: the first click goes on by itself.
        "waitAlert": "",
    }


@register.simple_tag
def queue_challenge(concert: Concert, user: object) -> EntryChallenge | None:
    if not getattr(user, "is_authenticated", False):
        return None
    if not services.is_entry_open(concert, timezone.now()):
        return None
    if not selectors.challenge_is_on(concert=concert):  # read once per page (concert.waiting_room)
        return None
    # A fan who holds a place gets it back from the join without a challenge (queueing.views.room): no widget,
    # so their browser does not solve one for nothing (an admitted fan clicking Book on the concert page).
    if isinstance(user, User) and selectors.holds_place(concert=concert, user_id=user.pk):
        return None
    return EntryChallenge(
        url=reverse("queueing:challenge", kwargs={"concert_id": concert.pk}),
        strings=json.dumps(widget_strings(), ensure_ascii=False),
    )
