"""Properties of the draw's ordering function (queueing.draw.draw_order), for any seed and any receipts."""

import hashlib
import hmac

from hypothesis import given, settings
from hypothesis import strategies as st

from queueing.draw import commitment, draw_order, receipt_for

seeds = st.binary(min_size=32, max_size=32).map(bytes.hex)
receipt_lists = st.lists(st.integers(min_value=1, max_value=999_999), unique=True, max_size=60).map(
    lambda arrivals: [receipt_for(n) for n in arrivals]
)
EXAMPLES = settings(max_examples=200, deadline=None)


@EXAMPLES
@given(seed=seeds, receipts=receipt_lists)
def test_the_order_is_a_permutation_of_the_receipts(seed, receipts):
    order = draw_order(seed, receipts)
    assert sorted(order) == sorted(receipts)
    assert len(order) == len(receipts)


@EXAMPLES
@given(seed=seeds, receipts=receipt_lists, data=st.data())
def test_the_order_does_not_depend_on_the_order_receipts_are_given_in(seed, receipts, data):
    shuffled = data.draw(st.permutations(receipts))
    assert draw_order(seed, shuffled) == draw_order(seed, receipts)
    assert draw_order(seed, iter(receipts)) == draw_order(seed, receipts)  # any iterable


@EXAMPLES
@given(seed=seeds, receipts=receipt_lists)
def test_one_seed_always_gives_the_same_order_and_it_is_the_documented_one(seed, receipts):
    assert draw_order(seed, receipts) == draw_order(seed, list(receipts))
    # What the README tells anyone to compute, with nothing but the standard library.
    key = bytes.fromhex(seed)
    by_hand = sorted(receipts, key=lambda r: (hmac.new(key, r.encode("ascii"), hashlib.sha256).digest(), r))
    assert draw_order(seed, receipts) == by_hand
    assert commitment(seed) == hashlib.sha256(key).hexdigest()


@settings(max_examples=100, deadline=None)
@given(
    seed=seeds,
    receipts=st.lists(st.integers(min_value=1, max_value=999_999), unique=True, min_size=5, max_size=40).map(
        lambda arrivals: [receipt_for(n) for n in arrivals]
    ),
)
def test_different_seeds_give_different_orders(seed, receipts):
    """Loosely: 20 seeds (this one and 19 derived from it) give at least 10 different orders. For a random
    order of 5 receipts (120 orders) about 18.4 are expected and fewer than 10 has odds below one in a
    million; an order the seed did not decide would give 1."""
    derived = [hashlib.sha256(bytes.fromhex(seed) + bytes([i])).hexdigest() for i in range(19)]
    orders = {tuple(draw_order(one, receipts)) for one in [seed, *derived]}
    assert len(orders) >= 10


def test_the_first_places_are_spread_over_the_arrivals():
    """Loosely uniform: over 2,000 seeds, each of 5 receipts comes first about 400 times (not 0, not 2,000)."""
    receipts = [receipt_for(n) for n in range(1, 6)]
    firsts = dict.fromkeys(receipts, 0)
    for i in range(2000):
        seed = hashlib.sha256(f"seed {i}".encode()).hexdigest()
        firsts[draw_order(seed, receipts)[0]] += 1
    assert all(300 < count < 500 for count in firsts.values()), firsts
