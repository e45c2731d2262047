import pytest
from django.db import IntegrityError, transaction


@pytest.fixture
def refused():
    """refused("constraint_name", write): the database rejects write() naming that constraint.

    The write runs in its own atomic block, so the test can go on using the database afterwards.
    """

    def check(constraint, write):
        with pytest.raises(IntegrityError) as excinfo, transaction.atomic():
            write()
        assert constraint in str(excinfo.value), f"expected {constraint}, got: {excinfo.value}"

    return check
