"""Account writes racing on PostgreSQL with real threads: one verification link opened twice at once verifies
once; two accounts taking one address at once, the unique constraint lets one have it."""

import pytest

from accounts import services
from accounts.exceptions import EmailAddressTaken, VerificationLinkUsed
from accounts.models import User
from accounts.tokens import make_verification_token
from tests import factories
from tests.support.concurrency import run_at_once

pytestmark = pytest.mark.django_db(transaction=True)


def test_one_link_opened_twice_at_once_verifies_once():
    fan = factories.UserFactory(email_verified_at=None)
    token = make_verification_token(fan)
    outcomes = run_at_once(lambda: services.verify_email(token=token), [(), (), ()])
    verified = [result for result, error in outcomes if error is None]
    refused = [error for _result, error in outcomes if error is not None]
    assert len(verified) == 1
    assert len(refused) == 2 and all(isinstance(error, VerificationLinkUsed) for error in refused)
    assert User.objects.get(pk=fan.pk).email_verified_at == verified[0].email_verified_at


def test_two_accounts_taking_one_address_at_once_one_gets_it():
    first, second = factories.UserFactory(), factories.UserFactory()

    def take(user):
        return services.change_email(user=user, new_email="wanted@example.com", language="ko")

    outcomes = run_at_once(take, [(first,), (second,)])
    errors = [error for _result, error in outcomes if error is not None]
    assert len(errors) == 1 and isinstance(errors[0], EmailAddressTaken)
    assert User.objects.filter(email="wanted@example.com").count() == 1
    loser = second if isinstance(outcomes[1][1], EmailAddressTaken) else first
    loser.refresh_from_db()
    assert loser.email != "wanted@example.com" and loser.email_verified_at is not None
