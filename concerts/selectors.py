"""Reads about concerts: what is on sale, what is coming, seats left per date."""

from django.db.models import Count
from django.utils import timezone

from .models import Concert


def concerts_for_listing(*, now=None):
    """Concerts whose last show is still ahead, split into (on_sale, coming_up), in two queries at most."""
    now = now or timezone.now()
    concerts = list(
        Concert.objects.filter(end_time__gte=now).annotate(date_count=Count("dates")).order_by("start_time")
    )
    on_sale = [c for c in concerts if c.sale_opens_at <= now]
    coming_up = [c for c in concerts if c.sale_opens_at > now]
    return on_sale, coming_up
