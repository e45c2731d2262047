"""Staff screens for booking: reservations, the payment record, check-ins and the door's check-in page, and
the pages over concert dates that show or change bookings: a date's revenue, buyers and refunds, cancelling
and exporting dates, the cancellations, the exports and the sales dashboard. Rows change only through
booking.services (the admin actions and pages call them), never by editing a form.

One module per screen family: reservations (reservations, payments, the confirmation e-mail outbox), door
(check-ins and the door page), dates (the date page with bookings, cancellations, exports), sales (the
dashboard) and waitlist (the waiting lists of sold-out dates and their offers). Importing them registers their
ModelAdmins with the admin site.
"""

from . import dates, door, reservations, sales, waitlist

__all__ = ["dates", "door", "reservations", "sales", "waitlist"]
