"""The fan's user-row lock, and the project's lock order: the one place either is written down.

Lock order. A transaction that takes more than one of these row locks takes them top to bottom, so two
transactions never wait on each other in a cycle:

1. The fan's user row: lock_user below (FOR NO KEY UPDATE). It serialises one fan's holds, payments and
   cancellations and guards the balance. booking.services takes it first in hold_seats, pay, cancel and
   refund_and_cancel (a refund locks the reservation's fan); wallet.services takes it in charge and debit
   (pay hands debit the row it locked, so it is not locked twice). accounts.services.change_email takes it alone
   to change the fan's address.
2. The concert row (concerts.services, FOR NO KEY UPDATE) when staff add, move or delete a date or delete the
   concert.
3. The concert-date row: FOR SHARE in hold_seats, pay and the fan's cancel (booking.services._seats.share_lock_date),
   so holds, payments and cancellations on one date run side by side; FOR NO KEY UPDATE when staff move the date
   (concerts.services.check_date_start), FOR UPDATE when they cancel it (booking.services.mark_date_cancelled)
   and when they delete it (concerts.services.check_date_delete; deleting a concert locks all its dates, in
   day order: concerts.services.delete_concert), so each waits for the holds, payments and cancellations in
   flight, and those wait for it (then find the date cancelled, or gone).
4. Seat rows, in seat_number order: booking.services._seats.lock_seats (FOR NO KEY UPDATE), for holding, paying,
   cancelling, refunding, releasing and the door's check-in (lock_reservation: one seat); "Pick the best seats
   for me" locks every free seat of the date (at the price asked) before it holds some of them
   (booking.services.hold_best_seats); moving a date to another day locks all its seats first
   (concerts.services.check_date_move, FOR UPDATE).
5. Waiting-list rows (booking.services.waitlist): a WAITING entry changes only under its fan's user row (1), an
   offer and its OFFERED entry only under the offered seat's row (4); neither is locked on its own.

The waiting-list lock of a date (booking.services.waitlist, a transaction-scoped advisory lock) comes before all
of the above: an offer run takes it with nothing else held, then the next fan's user row, the date's row (FOR
SHARE) and the lowest-numbered free seat (waiting for one locked right now, which may be let go), so offers on
a date are made one at a time, in list order. Nothing takes it while holding any row lock above.

Outside that chain, each taken with none of the above held:
- A join from a client address first takes a transaction-scoped advisory lock on (concert, address)
  (queueing.services.places: the live places per address are counted and the new one written under it).
- The waiting-room row (queueing: WaitingRoom, FOR UPDATE), for joins, admission runs and the pre-queue's
  draw, then that concert's QueueToken rows in queue_position order. No queue transaction locks a user,
  date or seat, and a payment ends the fan's admission only once it has committed (transaction.on_commit).
- Sweeps never wait, so their order does not matter: expire_holds claims expired seats (by expiry, not
  seat number) and the confirmation e-mail sweep and send claim ConfirmationEmail rows, all with SKIP
  LOCKED; an admission run a status poll starts skips a waiting room another run holds.
"""

import uuid

from .models import User


def lock_user(user_id: uuid.UUID) -> User:
    """Lock the fan's user row for the rest of the transaction (first, see the lock order above) and return it
    with only `id` and `balance` loaded. Call inside transaction.atomic()."""
    # FOR NO KEY UPDATE: rows that merely reference the user (tokens, history, ledger) can still be inserted.
    return User.objects.select_for_update(no_key=True).only("id", "balance").get(pk=user_id)
