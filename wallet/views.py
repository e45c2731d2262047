"""The fan's wallet page: balance, top-up form and the history of top-ups and spending."""

from django.conf import settings
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from accounts.redirects import login_required, redirect_to_next, safe_next
from accounts.requests import AuthenticatedRequest
from concerts.pricing import won
from config.ratelimit import rate_limited

from . import selectors, services
from .exceptions import WalletError
from .forms import TopUpForm

# The wallet page lists this many of the latest history entries (two queries whatever the history size).
HISTORY_LIMIT = 100
QUICK_AMOUNTS = (10_000, 50_000, 100_000)


def _render_wallet(request: AuthenticatedRequest, form: TopUpForm, *, status: int = 200) -> HttpResponse:
    return render(
        request,
        "wallet/home.html",
        {
            "form": form,
            "history": selectors.wallet_history(user=request.user, limit=HISTORY_LIMIT),
            "history_limit": HISTORY_LIMIT,
            "quick_amounts": QUICK_AMOUNTS,
            "min_charge": settings.MIN_CHARGE,
            "max_charge": settings.MAX_CHARGE,
            "max_balance": settings.MAX_BALANCE,
            "next": safe_next(request, form["next"].value()),
            "page_url": reverse("wallet:home"),
        },
        status=status,
    )


@require_safe
@login_required
def home(request: AuthenticatedRequest) -> HttpResponse:
    """Balance, the top-up form (coming back to `next` after a top-up) and the wallet's history."""
    initial = {"next": safe_next(request, request.GET.get("next")), "amount": request.GET.get("amount", "")[:20]}
    return _render_wallet(request, TopUpForm(initial=initial))


@require_POST
@login_required(form_page="wallet:home")
@rate_limited("top_up")
def charge_view(request: AuthenticatedRequest) -> HttpResponse:
    """Top up by `amount` won. A refused top-up is recorded by the service and shown with its status (400)."""
    form = TopUpForm(request.POST)
    form.is_valid()  # every field is optional text: the service judges the amount
    try:
        row = services.charge(user=request.user, amount=form.cleaned_data.get("amount", ""))
    except WalletError as error:
        messages.error(request, error.message)
        request.user.refresh_from_db(fields=["balance"])
        return _render_wallet(request, form, status=error.status)
    messages.success(
        request,
        _("%(amount)s added. Your balance is now %(balance)s.")
        % {"amount": won(row.amount), "balance": won(row.balance_after)},
    )
    return redirect_to_next(request, form.cleaned_data.get("next"), "wallet:home")
