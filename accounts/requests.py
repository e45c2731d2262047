"""The logged-in user as views and admin pages see it: the request type of a view behind login_required, and
the staff member acting in an admin page."""

from django.http import HttpRequest

from .models import User


class AuthenticatedRequest(HttpRequest):
    """The request a view behind login_required gets (the annotation of its `request`): its user is logged in."""

    user: User


def acting_user(request: HttpRequest) -> User | None:
    """Who is acting: the logged-in user (the admin lets only staff in), None for an anonymous request."""
    return request.user if request.user.is_authenticated else None
