"""Log in and out, in the mode the settings choose (DVP_AUTH)."""
from django.conf import settings
from django.contrib.auth import logout as end_session
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from . import ratelimit


class PasswordLoginView(auth_views.LoginView):
    """Local accounts: Django's login form, with wrong passwords counted and logged (portal.auth.ratelimit)."""

    template_name = "login.html"
    redirect_authenticated_user = True

    def post(self, request, *args, **kwargs):
        wait = ratelimit.locked_for(request.POST.get("username", ""), request.META.get("REMOTE_ADDR"))
        if wait:
            return render(request, self.template_name, {
                **self.get_context_data(form=self.get_form_class()(request)),  # the password is not even tried
                "locked": f"Too many failed logins. Try again in {max(1, round(wait / 60))} minute(s).",
                "username": request.POST.get("username", ""),
            }, status=429)
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form):
        ratelimit.failed(self.request.POST.get("username", ""), self.request.META.get("REMOTE_ADDR"))
        return super().form_invalid(form)

    def form_valid(self, form):
        ratelimit.succeeded(form.get_user().get_username(), self.request.META.get("REMOTE_ADDR"))
        return super().form_valid(form)


@login_not_required
def login(request):
    if settings.DVP_AUTH == "local":
        return PasswordLoginView.as_view()(request)
    if request.user.is_authenticated:
        return redirect(settings.LOGIN_REDIRECT_URL)
    return render(request, "login_elsewhere.html", {
        "mode": settings.DVP_AUTH, "next": request.GET.get("next", ""), "failed": "failed" in request.GET})


@require_POST
def logout(request):
    """End the console's session; with OIDC or a proxy, offer the provider's logout too."""
    end_session(request)
    if settings.DVP_AUTH == "local" or not settings.DVP_OIDC_LOGOUT_URL:
        return redirect("login")
    return render(request, "logged_out.html", {"provider_logout": settings.DVP_OIDC_LOGOUT_URL})


def _oidc_only(view):
    @login_not_required
    def only_in_oidc_mode(request, *args, **kwargs):
        if settings.DVP_AUTH != "oidc":
            raise Http404("OIDC login is not configured")
        return view(request, *args, **kwargs)
    return only_in_oidc_mode


# mozilla-django-oidc's code flow: to the provider with state, nonce and PKCE; back with the code.
oidc_start = _oidc_only(OIDCAuthenticationRequestView.as_view())
oidc_callback = _oidc_only(OIDCAuthenticationCallbackView.as_view())
