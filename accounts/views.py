"""Sign up, log in, log out, reset a forgotten password, verify the e-mail address, and the account page with its
changes of address and password: Django's auth views around the e-mail login forms, and thin callers of
accounts.services."""

import uuid
from typing import Any

from axes.handlers.proxy import AxesProxyHandler
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.signals import user_login_failed
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.template.response import TemplateResponse
from django.urls import reverse, reverse_lazy
from django.utils import timezone, translation
from django.utils.decorators import method_decorator
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from config.lockout import lockout_response
from config.ratelimit import rate_limited

from . import audit, selectors, services, two_factor
from .exceptions import AccountError, EmailNotVerified, SecondFactorInvalid
from .forms import (
    ApiTokenForm,
    ChangeEmailForm,
    ChangePasswordForm,
    EmailAuthenticationForm,
    NewPasswordForm,
    PasswordResetRequestForm,
    SecondFactorForm,
    SignupForm,
)
from .redirects import login_required, redirect_to_next, safe_next
from .requests import AuthenticatedRequest

BACKEND = "accounts.backends.UserBackend"


def _next_url(request: HttpRequest) -> str:
    return safe_next(request, request.POST.get("next") or request.GET.get("next"))


@sensitive_post_parameters("password1", "password2")
@require_http_methods(["GET", "HEAD", "POST"])
@rate_limited("signup", methods=["POST"])
def signup(request: HttpRequest) -> HttpResponse:
    """Create the account and log the fan in; an invalid form re-renders with 400."""
    if request.user.is_authenticated:
        return redirect_to_next(request, _next_url(request), settings.LOGIN_REDIRECT_URL)
    form = SignupForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        if form.is_valid():
            user = form.save()
            login(request, user, backend=BACKEND)
            if selectors.verification_asked():
                services.queue_verification_email(
                    user=user, language=translation.get_language(), next_url=_next_url(request)
                )
                messages.success(
                    request,
                    _("Welcome! We sent a link to %(email)s: open it to verify your address.") % {"email": user.email},
                )
            else:  # nothing asks for a verified address: no link to open
                messages.success(request, _("Welcome to Frontrow!"))
            return redirect_to_next(request, _next_url(request), settings.LOGIN_REDIRECT_URL)
        return render(request, "accounts/signup.html", {"form": form, "next": _next_url(request)}, status=400)
    return render(request, "accounts/signup.html", {"form": form, "next": _next_url(request)})


# Attempts per address and per e-mail address typed; django-axes locks out after repeated failures.
@method_decorator(rate_limited("login", methods=["POST"], account_field="username"), name="dispatch")
class LoginView(auth_views.LoginView):
    form_class = EmailAuthenticationForm
    template_name = "accounts/login.html"
    redirect_authenticated_user = True

    def get_redirect_url(self) -> str:
        """The `next` to follow after logging in, if safe (accounts.redirects.safe_next), else ""."""
        return _next_url(self.request)

    def get_success_url(self) -> str:
        """Staff go on to their second factor first (accounts.two_factor), then to where they were going."""
        url = super().get_success_url()
        if two_factor.needs_second_factor(self.request.user):
            return two_factor.verify_url(safe_next(self.request, url) or reverse("admin:index"))
        return url

    def form_invalid(self, form: AuthenticationForm) -> HttpResponse:
        return self.render_to_response(self.get_context_data(form=form), status=400)


class LogoutView(auth_views.LogoutView):
    """POST only (Django's default since 5.0), so a link or image cannot log a fan out."""


# --- a forgotten password ---------------------------------------------------------------------------------


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
@rate_limited("password_reset", methods=["POST"], account_field="email")
def password_reset(request: HttpRequest) -> HttpResponse:
    """The address to send a reset link to. A valid one always goes on to the same "sent" page, whether an
    account has it or not; a malformed one re-renders with 400."""
    form = PasswordResetRequestForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        if form.is_valid():
            services.request_password_reset(email=form.cleaned_data["email"], language=translation.get_language())
            return HttpResponseRedirect(reverse("accounts:password_reset_sent"))
        return render(request, "accounts/password_reset.html", {"form": form}, status=400)
    return render(request, "accounts/password_reset.html", {"form": form})


@never_cache
@require_http_methods(["GET", "HEAD"])
def password_reset_sent(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/password_reset_sent.html")


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """Django's: the link's token (PASSWORD_RESET_TIMEOUT, once) is moved into the session and the page shows the
    new-password form; a forged, expired or used link answers 400 with a way to ask for a new one. Setting the
    password logs the fan in (and, step by step, ends their other sessions: the hash changed) and marks the address
    verified (the fan read the link mailed to it)."""

    form_class = NewPasswordForm
    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:password_reset_complete")
    post_reset_login = True
    post_reset_login_backend = BACKEND

    def render_to_response(self, context: dict[str, Any], **response_kwargs: Any) -> HttpResponse:
        if not context.get("validlink"):
            response_kwargs["status"] = 400
        return super().render_to_response(context, **response_kwargs)

    def form_valid(self, form: forms.Form) -> HttpResponse:
        # The link was mailed to the account's address: setting the password through it verifies that address.
        with transaction.atomic():
            services.verify_email_by_password_reset(user=self.user)
            return super().form_valid(form)

    def form_invalid(self, form: forms.Form) -> HttpResponse:
        return self.render_to_response(self.get_context_data(form=form), status=400)


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "accounts/password_reset_complete.html"


# --- e-mail verification ----------------------------------------------------------------------------------


def verification_required_response(request: HttpRequest, *, next_url: str) -> TemplateResponse:
    """The 403 page a fan who must verify their address gets instead of entering a waiting room: what to do, and a
    button that sends the link again (coming back to `next_url`)."""
    refusal = EmailNotVerified()
    context = {"message": refusal.message, "email": getattr(request.user, "email", ""), "verify_next": next_url}
    return TemplateResponse(request, "accounts/verify_required.html", context, status=refusal.status)


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def verify_email(request: HttpRequest, token: str) -> HttpResponse:
    """GET: the link's page, with a button that verifies (a mail scanner that opens links verifies nothing).
    POST: verify the address, then go on to the link's `next` (or the concerts) with a message. A forged,
    expired or used link answers its refusal's page (400, 410, 409)."""
    next_url = _next_url(request)
    try:
        if request.method == "POST":
            services.verify_email(token=token)
        else:
            user = services.check_verification_token(token=token)
    except AccountError as refusal:
        context = {"refusal": refusal, "signed_in": request.user.is_authenticated}
        return render(request, "accounts/verify_email_refused.html", context, status=refusal.status)
    if request.method == "POST":
        messages.success(request, _("Thank you: your e-mail address is verified."))
        return redirect_to_next(request, next_url, settings.LOGIN_REDIRECT_URL)
    return render(request, "accounts/verify_email.html", {"email": user.email, "next": next_url})


@login_required(form_page="accounts:account")
@require_POST
@rate_limited("verification_email")
def resend_verification(request: AuthenticatedRequest) -> HttpResponse:
    """Send the signed-in fan a new verification link, then go back to the form's page (`next`)."""
    user = request.user
    if user.email_verified_at is not None:
        messages.info(request, _("Your e-mail address is already verified."))
    else:
        services.queue_verification_email(user=user, language=translation.get_language(), next_url=_next_url(request))
        messages.success(
            request, _("We sent a new link to %(email)s. It may take a minute to arrive.") % {"email": user.email}
        )
    return redirect_to_next(request, _next_url(request), "accounts:account")


# --- the account page, a new address, a new password --------------------------------------------------------


@never_cache
@login_required
@require_http_methods(["GET", "HEAD"])
def account(request: AuthenticatedRequest) -> HttpResponse:
    """The fan's account: name, e-mail address and whether it is verified (with the button that sends the link
    again), and the ways to change the address and the password."""
    context = {"account": request.user, "verification_asked": selectors.verification_asked()}
    return render(request, "accounts/account.html", context)


@never_cache
@sensitive_post_parameters("password")
@login_required
@require_http_methods(["GET", "HEAD", "POST"])
@rate_limited("account_change", methods=["POST"])
def change_email(request: AuthenticatedRequest) -> HttpResponse:
    """A new address, confirmed with the current password: the account's address changes at once and must be
    verified again (a link goes to it; the old one is told). An invalid form re-renders with 400, a race with
    another account for the address 409."""
    form = ChangeEmailForm(request.user, request.POST if request.method == "POST" else None)
    if request.method == "POST":
        if not form.is_valid():
            return render(request, "accounts/change_email.html", {"form": form}, status=400)
        try:
            user = services.change_email(
                user=request.user,
                new_email=form.cleaned_data["email"],
                language=translation.get_language(),
            )
        except AccountError as refusal:
            form.add_error("email", refusal.message)
            return render(request, "accounts/change_email.html", {"form": form}, status=refusal.status)
        if selectors.verification_asked():
            changed = _("Your e-mail address is now %(email)s. We sent a link to it: open it to verify the address.")
        else:
            changed = _("Your e-mail address is now %(email)s.")
        messages.success(request, changed % {"email": user.email})
        return HttpResponseRedirect(reverse("accounts:account"))
    return render(request, "accounts/change_email.html", {"form": form})


@method_decorator(login_required, name="dispatch")
@method_decorator(rate_limited("account_change", methods=["POST"]), name="dispatch")
class ChangePasswordView(auth_views.PasswordChangeView):
    """Django's: the current password and the new one twice; the fan stays logged in here and is logged out
    everywhere else (the password hash changed), and the address is told."""

    form_class = ChangePasswordForm
    template_name = "accounts/change_password.html"
    success_url = reverse_lazy("accounts:account")

    def form_valid(self, form: forms.Form) -> HttpResponse:
        response = super().form_valid(form)
        services.password_changed(user=self.request.user, language=translation.get_language())  # type: ignore[arg-type]
        messages.success(self.request, _("Your password is changed. Other devices will need to log in again."))
        return response

    def form_invalid(self, form: forms.Form) -> HttpResponse:
        return self.render_to_response(self.get_context_data(form=form), status=400)


# --- personal access tokens for the JSON API ------------------------------------------------------------------


def _render_api_tokens(
    request: AuthenticatedRequest, form: ApiTokenForm, *, created: services.NewApiToken | None = None, status: int = 200
) -> HttpResponse:
    now = timezone.now()
    tokens = [
        (token, selectors.api_token_is_live(token, now=now)) for token in selectors.api_tokens_of(user=request.user)
    ]
    context = {
        "form": form,
        "tokens": tokens,
        "created": created,
        "now": now,
        "page_url": reverse("accounts:api_tokens"),
    }
    return render(request, "accounts/api_tokens.html", context, status=status)


@never_cache  # the new token is shown once: no cache may keep the page
@login_required
@require_http_methods(["GET", "HEAD", "POST"])
@rate_limited("account_change", methods=["POST"])
def api_tokens(request: AuthenticatedRequest) -> HttpResponse:
    """The fan's API access tokens (name, scope, start, expiry, last use; revoke) and the form that creates one. A
    created token is shown on the answer to the POST, once: only its hash is kept. An invalid form re-renders with
    400, one token too many with 409."""
    if request.method != "POST":
        return _render_api_tokens(request, ApiTokenForm())
    form = ApiTokenForm(request.POST)
    if not form.is_valid():
        return _render_api_tokens(request, form, status=400)
    try:
        created = services.create_api_token(
            user=request.user,
            name=form.cleaned_data["name"],
            scope=form.cleaned_data["scope"],
            lifetime_days=form.cleaned_data["lifetime_days"],
        )
    except AccountError as refusal:
        form.add_error(None, refusal.message)
        return _render_api_tokens(request, form, status=refusal.status)
    return _render_api_tokens(request, ApiTokenForm(), created=created)


@login_required(form_page="accounts:api_tokens")
@require_POST
def revoke_api_token(request: AuthenticatedRequest, token_id: uuid.UUID) -> HttpResponse:
    """Revoke one of the fan's tokens (404 for another fan's), then back to the list."""
    token = services.revoke_api_token(user=request.user, token_id=token_id)
    if token is None:
        raise Http404("No such token.")
    messages.success(request, _("The token %(name)s is revoked: it no longer works.") % {"name": token.name})
    return HttpResponseRedirect(reverse("accounts:api_tokens"))


# --- staff two-factor ---------------------------------------------------------------------------------------


def _staff_next(request: HttpRequest) -> str:
    """Where staff go once past the second factor: the safe `next`, else the admin."""
    return _next_url(request) or reverse("admin:index")


def _second_factor_locked_out(request: HttpRequest, user: Any) -> bool:
    """django-axes has locked this account out from this address (wrong passwords and wrong codes alike)."""
    return bool(settings.AXES_ENABLED) and AxesProxyHandler.is_locked(request, {"username": user.email})


def _second_factor_failed(request: HttpRequest, user: Any) -> None:
    """A wrong code counts as a failed log-in of this account from this address: django-axes locks the pair out
    after AXES_FAILURE_LIMIT of them, as it does for passwords (its middleware then answers the lockout page)."""
    user_login_failed.send(sender=__name__, credentials={"username": user.email}, request=request)


def _staff_only(request: HttpRequest) -> None:
    if not two_factor.needs_second_factor(request.user):
        raise Http404  # fans have no second factor


@never_cache
@sensitive_post_parameters("code")
@login_required
@require_http_methods(["GET", "HEAD", "POST"])
@rate_limited("two_factor", methods=["POST"])
def two_factor_verify(request: AuthenticatedRequest) -> HttpResponse:
    """The second factor after the password (staff only): the authenticator's code or a backup code, then on to
    `next`. Staff with no authenticator yet go to the enrolment; a session that passed already goes straight on.
    A wrong code answers 400 (and counts for django-axes); a locked-out pair the lockout page (429)."""
    _staff_only(request)
    user = request.user
    next_url = _staff_next(request)
    if two_factor.session_device(request) is not None:
        return HttpResponseRedirect(next_url)
    if not two_factor.has_confirmed_device(user):
        return HttpResponseRedirect(f"{reverse('accounts:two_factor_setup')}?{urlencode({'next': next_url})}")
    form = SecondFactorForm(request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        if _second_factor_locked_out(request, user):
            return lockout_response(request)
        if form.is_valid():
            device = two_factor.verify_second_factor(user=user, code=form.cleaned_data["code"])
            if device is not None:
                two_factor.mark_session_verified(request, device)
                if two_factor.is_backup_device(device):
                    messages.warning(
                        request,
                        _("You used a backup code: %(left)d left. Each works once.")
                        % {"left": two_factor.backup_codes_left(user)},
                    )
                return HttpResponseRedirect(next_url)
            _second_factor_failed(request, user)
            form.add_error("code", SecondFactorInvalid().message)
        status = SecondFactorInvalid.status
    return render(request, "accounts/two_factor_verify.html", {"form": form, "next": next_url}, status=status)


@never_cache
@sensitive_post_parameters("code")
@login_required
@require_http_methods(["GET", "HEAD", "POST"])
@rate_limited("two_factor", methods=["POST"])
def two_factor_setup(request: AuthenticatedRequest) -> HttpResponse:
    """Enrol an authenticator app (staff with none confirmed; on their first visit to a staff page): its key as a
    QR code and as text, and the code it then shows. Confirmed, the session has passed its second factor and the
    backup codes are shown, this once. A wrong code answers 400 (and counts for django-axes). Staff who have an
    authenticator already go to the verify page: replacing one takes an operator (manage.py reset_two_factor)."""
    _staff_only(request)
    user = request.user
    next_url = _staff_next(request)
    if two_factor.has_confirmed_device(user):
        return HttpResponseRedirect(two_factor.verify_url(next_url))
    device = two_factor.start_enrolment(user=user)
    form = SecondFactorForm(request.POST if request.method == "POST" else None, numeric=True)
    status = 200
    if request.method == "POST":
        if _second_factor_locked_out(request, user):
            return lockout_response(request)
        if form.is_valid():
            with audit.acting(request, via="two-factor setup"):  # the audit entry keeps the client address
                confirmed = two_factor.confirm_enrolment(user=user, code=form.cleaned_data["code"])
            if confirmed is not None:
                two_factor.mark_session_verified(request, confirmed.device)
                done: dict[str, Any] = {"codes": confirmed.backup_codes, "next": next_url}
                return render(request, "accounts/two_factor_backup_codes.html", done)
            _second_factor_failed(request, user)
            form.add_error("code", SecondFactorInvalid().message)
        status = SecondFactorInvalid.status
    context: dict[str, Any] = {"enrolment": two_factor.enrolment(device), "form": form, "next": next_url}
    return render(request, "accounts/two_factor_setup.html", context, status=status)
