"""What the checkout page's form posts: its idempotency key and the ids of the holds it shows."""

import re
import uuid

from booking import selectors


def form_data(page):
    """The checkout form's fields as the page drew them (a response or its HTML)."""
    html = page if isinstance(page, str) else page.content.decode()
    return {
        "idempotency_key": re.search(r'name="idempotency_key" value="([0-9a-f-]+)"', html)[1],
        "reservations": re.findall(r'name="reservations" value="([0-9a-f-]+)"', html),
    }


def pay_data(*, user, concert_date, key=None):
    """What a checkout page drawn now would post: a new key (or `key`) and the fan's live holds on the date."""
    holds = selectors.live_holds(user=user, concert_date=concert_date)
    return {"idempotency_key": str(key or uuid.uuid4()), "reservations": [str(hold.pk) for hold in holds]}
