"""A concert's pre-queue and its draw as tests set them up: fans enter the pre-queue through
queueing.services.join before the sale opens, the draw runs through services.run_draw at the opening, and later
fans join after it. Time is injected, so nothing waits for a real opening."""

import datetime
from dataclasses import dataclass, field

from django.utils import timezone

from queueing import services
from queueing.models import QueueEntryHistory
from tests.factories import ConcertFactory, UserFactory


@dataclass
class Draw:
    concert: object
    opens: datetime.datetime
    prequeued: list = field(default_factory=list)  # the fans who entered the pre-queue (and stayed)
    left: list = field(default_factory=list)  # the fans who entered it and left before the draw
    later: list = field(default_factory=list)  # the fans who joined after the opening

    def history(self, user):
        return QueueEntryHistory.objects.get(concert=self.concert, user=user)

    def drawn_rows(self):
        """History rows with a receipt and a place, by place."""
        return list(
            QueueEntryHistory.objects.filter(concert=self.concert, queue_position__isnull=False)
            .exclude(receipt="")
            .order_by("queue_position")
        )


def sale_opening_soon(**kwargs):
    """A concert whose sale opens in an hour (on the second), shows a month away; its pre-queue opens
    PREQUEUE_MINUTES before."""
    opens = (timezone.now() + datetime.timedelta(hours=1)).replace(microsecond=0)
    return ConcertFactory(sale_opens_at=opens, **kwargs)


def run_a_draw(*, concert=None, entrants=6, leavers=1, later=2, address="203.0.113.7"):
    """`entrants` fans enter the pre-queue (from `address`), `leavers` of them leave again, the draw runs one
    second after the opening, then `later` fans join after it. Returns the Draw."""
    concert = concert or sale_opening_soon()
    opens = concert.sale_opens_at
    draw = Draw(concert=concert, opens=opens)
    for i in range(entrants):
        fan = UserFactory()
        services.join(
            user=fan, concert=concert, now=opens - datetime.timedelta(minutes=10, seconds=-i), client_ip=address
        )
        draw.prequeued.append(fan)
    for fan in draw.prequeued[:leavers]:
        services.leave(user=fan, concert=concert, now=opens - datetime.timedelta(minutes=5))
        draw.left.append(fan)
    draw.prequeued = draw.prequeued[leavers:]
    assert services.run_draw(concert=concert, now=opens + datetime.timedelta(seconds=1))
    for i in range(later):
        fan = UserFactory()
        services.join(user=fan, concert=concert, now=opens + datetime.timedelta(seconds=2 + i), client_ip=address)
        draw.later.append(fan)
    concert.refresh_from_db()
    return draw
