from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_save
from django.utils.translation import gettext_lazy as _


def _forget_room_mirror(sender: type, instance: Any, **kwargs: Any) -> None:
    """A saved waiting room or concert: polls stop reading the room's old mirror (queueing/services/_mirror.py)."""
    from .services import forget_room_mirror

    forget_room_mirror(instance.pk)


class QueueingConfig(AppConfig):
    name = "queueing"
    verbose_name = _("Queueing")

    def ready(self) -> None:
        post_save.connect(_forget_room_mirror, sender="queueing.WaitingRoom", dispatch_uid="queueing-room-mirror")
        post_save.connect(_forget_room_mirror, sender="concerts.Concert", dispatch_uid="queueing-concert-mirror")
