from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BookingConfig(AppConfig):
    name = "booking"
    verbose_name = _("Booking")

    def ready(self) -> None:
        # booking reaches down: the concert page (concerts) counts no seat left on a date whose free seats booking
        # keeps for the fans on its waiting list, as holds and the seat map do.
        from concerts import selectors as concert_selectors

        from .selectors import fans_waiting_on_date

        concert_selectors.keep_free_seats_while(fans_waiting_on_date)
