"""Writes about the waiting room. (The queue helpers land with the waiting-room issue.)"""


def end_for_user(*, user, concert, reason):
    """End the user's admitted token for this concert (after payment, expiry or leaving).

    Booking calls this from transaction.on_commit after a successful payment. Placeholder until the
    waiting-room backends land; it must stay safe to call when the user holds no token.
    """
