"""Sign up, log in and log out: Django's auth views around the e-mail login forms."""

from django.conf import settings
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.decorators import method_decorator
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from config.ratelimit import rate_limited

from .forms import EmailAuthenticationForm, SignupForm
from .redirects import redirect_to_next, safe_next


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
            login(request, user, backend="accounts.backends.UserBackend")
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

    def form_invalid(self, form: AuthenticationForm) -> HttpResponse:
        return self.render_to_response(self.get_context_data(form=form), status=400)


class LogoutView(auth_views.LogoutView):
    """POST only (Django's default since 5.0), so a link or image cannot log a fan out."""
