"""Refusals of the account pages, each a config.refusals.Refusal (a message for the fan, an English reason, an HTTP
status and a stable code)."""

from django.utils.translation import gettext_lazy as _

from config.refusals import Refusal, RefusalCode


class AccountError(Refusal):
    """Base of every account refusal."""

    status = 400
    default_message = _("Your account could not do that.")


class VerificationLinkInvalid(AccountError):
    """Not a verification link this site signed, or one for an address the account no longer has."""

    code = RefusalCode.VERIFICATION_LINK_INVALID
    default_message = _(
        "This verification link is not valid: it is incomplete, or it was sent to an address your account no "
        "longer uses. Ask for a new one."
    )


class VerificationLinkExpired(AccountError):
    status = 410
    code = RefusalCode.VERIFICATION_LINK_EXPIRED
    default_message = _("This verification link has expired. Ask for a new one: it arrives in a minute.")


class VerificationLinkUsed(AccountError):
    """The address it verifies is verified already (this link, or another, was used)."""

    status = 409
    code = RefusalCode.VERIFICATION_LINK_USED
    default_message = _("This verification link has already been used: your e-mail address is verified.")


class EmailNotVerified(AccountError):
    """The fan must verify their e-mail address before entering a waiting room (EMAIL_VERIFICATION_REQUIRED)."""

    status = 403
    code = RefusalCode.EMAIL_NOT_VERIFIED
    default_message = _("Please verify your e-mail address before entering a waiting room: open the link we sent you.")


class EmailAddressTaken(AccountError):
    """Another account took the address between the form's check and the change (the unique constraint said so)."""

    status = 409
    code = RefusalCode.EMAIL_ADDRESS_TAKEN
    default_message = _("An account with this e-mail address already exists.")


# --- the JSON API's personal access tokens (accounts.services.authenticate_api_token) --------------------------


class NotAuthenticated(AccountError):
    """An API request with neither a session nor an `Authorization: Bearer` token."""

    status = 401
    code = RefusalCode.NOT_AUTHENTICATED
    default_message = _("Log in, or send a personal access token as 'Authorization: Bearer <token>'.")


class TokenInvalid(AccountError):
    """A bearer token that is not one of ours, was revoked or has expired: one answer for all three, so a guess
    learns nothing about real tokens."""

    status = 401
    code = RefusalCode.TOKEN_INVALID
    default_message = _(
        "This access token is not valid: it was mistyped, revoked or has expired. Create a new one on your account "
        "page."
    )


class TokenScopeInsufficient(AccountError):
    """A read-only token used for a request that changes something."""

    status = 403
    code = RefusalCode.TOKEN_SCOPE_INSUFFICIENT
    default_message = _("This access token may only read. Create a token with the 'Read and book' scope to book.")


class TokenLimitReached(AccountError):
    """The fan already has API_TOKENS_PER_USER live tokens."""

    status = 409
    code = RefusalCode.TOKEN_LIMIT_REACHED
    default_message = _("You have as many access tokens as an account may have. Revoke one you no longer use first.")


class SecondFactorRequired(AccountError):
    """A staff page asked for by staff whose session has not passed the second factor (accounts.middleware)."""

    status = 403
    code = RefusalCode.SECOND_FACTOR_REQUIRED
    default_message = _("Staff pages need the code from your authenticator app: enter it on the verification page.")


class SecondFactorInvalid(AccountError):
    """A code the staff member's devices do not accept now: wrong, used already, or a device still waiting after
    wrong codes (django-otp's throttle)."""

    code = RefusalCode.SECOND_FACTOR_INVALID
    default_message = _(
        "That code is not right, or it was used already. Enter the code your authenticator app shows now (or an "
        "unused backup code). After several wrong codes, wait a few seconds between tries."
    )
