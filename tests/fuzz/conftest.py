from tests.security.fixtures import (  # noqa: F401
    alice,
    alice_client,
    concert_date,
    mallory,
    mallory_client,
    other_concert_date,
)
