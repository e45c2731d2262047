from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save
from django.utils.translation import gettext_lazy as _


def _forget_concert(sender: Any, instance: Any, **kwargs: Any) -> None:
    """A concert was saved or deleted: the pages' copy of it and of its dates (each holds the concert) go."""
    from . import page_cache
    from .models import ConcertDate

    date_ids = list(ConcertDate.objects.filter(concert_id=instance.pk).values_list("pk", flat=True))
    page_cache.forget(concert_ids=[instance.pk], concert_date_ids=date_ids)


def _forget_date(sender: Any, instance: Any, **kwargs: Any) -> None:
    """A date was saved or deleted: the pages' copy of it and of its concert (whose span follows it) go."""
    from . import page_cache

    page_cache.forget(concert_ids=[instance.concert_id], concert_date_ids=[instance.pk])


class ConcertsConfig(AppConfig):
    name = "concerts"
    verbose_name = _("Concerts")

    def ready(self) -> None:
        # Signals rather than a call in each service: the admin saves concerts and dates by several paths, and
        # every one of them must drop the copies the fans' pages share (concerts.page_cache).
        from .models import Concert, ConcertDate

        post_save.connect(_forget_concert, sender=Concert, dispatch_uid="concerts.page_cache.concert_saved")
        post_delete.connect(_forget_concert, sender=Concert, dispatch_uid="concerts.page_cache.concert_deleted")
        post_save.connect(_forget_date, sender=ConcertDate, dispatch_uid="concerts.page_cache.date_saved")
        post_delete.connect(_forget_date, sender=ConcertDate, dispatch_uid="concerts.page_cache.date_deleted")
