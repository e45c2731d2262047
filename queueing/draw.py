"""The pre-queue draw's order: a public function of the room's seed and the entries' receipts.

Everyone who enters a concert's pre-queue before its sale opens gets a receipt: "P" and their arrival number
(P000001, P000002, ...), handed out in arrival order before anyone outside knows the seed. When the sale
opens, the entries still in the pre-queue are placed 1, 2, 3, ... in the order of

    HMAC-SHA256(key = the seed's 32 bytes, message = the receipt in ASCII)

as raw bytes, smallest first (two equal digests, which will not happen, fall back to the receipt). The room
chose the seed when it was made and published its SHA-256 (the commitment) from the moment the pre-queue
opened; the seed itself is published with every receipt and its place once the draw has run. So anyone
can check that the seed is the one committed to, and that the places follow from it: `manage.py
verify_draw CONCERT` does, and so do the few lines in the README, with nothing but Python's standard library.

What this proves: the order was fixed by a seed chosen before the entries were known, not picked after
seeing them. It cannot prove that the operator kept the seed to itself; it keeps honest operators honest
and lets fans see that they are.
"""

import hashlib
import hmac
from collections.abc import Iterable

RECEIPT_PREFIX = "P"


def receipt_for(arrival: int) -> str:
    """The public receipt of the `arrival`-th pre-queue entry (1-based)."""
    return f"{RECEIPT_PREFIX}{arrival:06d}"


def arrival_of(receipt: str) -> int:
    """The arrival number a receipt was made from."""
    return int(receipt[len(RECEIPT_PREFIX) :])


def is_receipt(value: str) -> bool:
    return value.startswith(RECEIPT_PREFIX) and value[len(RECEIPT_PREFIX) :].isdigit()


def commitment(seed: str) -> str:
    """SHA-256 of the seed's bytes (the seed is 64 hex digits), hex: what is published before the draw."""
    return hashlib.sha256(bytes.fromhex(seed)).hexdigest()


def draw_key(seed: str, receipt: str) -> bytes:
    """The sort key of one receipt: HMAC-SHA256 keyed with the seed's bytes."""
    return hmac.digest(bytes.fromhex(seed), receipt.encode("ascii"), "sha256")


def draw_order(seed: str, receipts: Iterable[str]) -> list[str]:
    """The receipts in drawn order: the first gets place 1.

    The same keys as draw_key, with the seed decoded once (hmac.digest is OpenSSL's one-shot HMAC: 100,000
    receipts take a few tenths of a second)."""
    key = bytes.fromhex(seed)
    return sorted(receipts, key=lambda receipt: (hmac.digest(key, receipt.encode("ascii"), "sha256"), receipt))
