"""Log-in (password, then TOTP when the user has it), log-out, profile, second factor and tokens."""

import copy
import time

from django import forms
from django.contrib import messages
from django.contrib.auth import authenticate, get_user_model, login, logout
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordChangeForm
from django.contrib.auth.views import PasswordChangeView
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from attt.core import audit
from attt.core.auth import lockout, totp
from attt.core.middleware import client_ip
from attt.core.models import ApiToken, AuditEvent

PENDING_KEY = "attt_2fa_pending"
PENDING_SECONDS = 300


class LoginForm(forms.Form):
    username = forms.CharField(
        label=gettext_lazy("User name"),
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "username", "autofocus": True}),
    )
    password = forms.CharField(
        label=gettext_lazy("Password"),
        max_length=256,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class CodeForm(forms.Form):
    code = forms.CharField(
        label=gettext_lazy("6-digit code"),
        max_length=10,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}),
    )


def _safe_next(request) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure()):
        return target
    return reverse("home")


def _fail(request, username: str, reason: str, *, device: str, counted: bool = True) -> None:
    """Audit a refused log-in; count it toward the lock-out of its client (`device`: its device cookie's id, ''
    for an unknown client) unless it was refused for being locked (those would keep the lock-out going past its
    window for as long as anyone, the person too, keeps trying)."""
    if counted:
        lockout.register_failure(username, client_ip(request), device)
    audit.record(
        AuditEvent.Action.LOGIN_FAILED,
        object_type="core.user",
        object_repr=username[:255],
        actor_name=username[:150],
        changes={"reason": reason},
    )


def _locked_message() -> str:
    from django.conf import settings

    return _("Too many failed attempts. This account is locked for %(minutes)s minutes.") % {
        "minutes": settings.ATTT_LOGIN_LOCKOUT_MINUTES
    }


def login_view(request):
    if request.user.is_authenticated:
        return redirect(_safe_next(request))
    form = LoginForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        username = form.cleaned_data["username"].strip()
        device = lockout.known_device(request, username)
        if lockout.is_locked(username, client_ip(request), device):
            _fail(request, username, "locked", device=device, counted=False)
            form.add_error(None, _locked_message())
        else:
            user = authenticate(request, username=username, password=form.cleaned_data["password"])
            if user is None:
                _fail(request, username, "bad credentials", device=device)
                form.add_error(None, _("Wrong user name or password."))
            elif user.has_totp:
                request.session.cycle_key()  # a session key planted beforehand must not carry the half log-in
                request.session[PENDING_KEY] = {
                    "user": str(user.pk),
                    "at": time.time(),
                    "backend": user.backend,
                    "next": _safe_next(request),
                    "device": device,
                }
                return redirect("login_verify")
            else:
                return _logged_in(request, user, user.backend, device, _safe_next(request))
    return render(request, "registration/login.html", {"form": form, "next": request.GET.get("next", "")})


def login_verify_view(request):
    pending = request.session.get(PENDING_KEY)
    if not pending or time.time() - pending["at"] > PENDING_SECONDS:
        request.session.pop(PENDING_KEY, None)
        messages.error(request, _("Your log-in took too long. Please start again."))
        return redirect("login")
    user = get_user_model().objects.filter(pk=pending["user"], is_active=True).first()
    if user is None:
        return redirect("login")
    form = CodeForm(request.POST or None)
    device = pending.get("device", "")
    if request.method == "POST" and form.is_valid():
        if lockout.is_locked(user.username, client_ip(request), device):
            _fail(request, user.username, "locked", device=device, counted=False)
            form.add_error(None, _locked_message())
        elif totp.consume(user, form.cleaned_data["code"]):
            request.session.pop(PENDING_KEY, None)
            return _logged_in(request, user, pending["backend"], device, pending.get("next") or reverse("home"))
        else:
            _fail(request, user.username, "bad second factor", device=device)
            form.add_error("code", _("The code is not correct or has expired."))
    return render(request, "registration/login_verify.html", {"form": form})


def _logged_in(request, user, backend: str, device: str, target: str):
    """Open the session, forget the failures of the client the person came in from, and let the browser keep
    (or get) their device cookie."""
    lockout.clear_failures(user.username, device)
    login(request, user, backend=backend)
    response = redirect(target)
    lockout.remember_device(response, user.username, device)
    return response


@require_POST
def logout_view(request):
    logout(request)
    messages.info(request, _("You have logged out."))
    return redirect("login")


@login_required
def profile_view(request):
    from attt.core.models import RoleAssignment

    assignments = RoleAssignment.objects.filter(user=request.user).select_related("role", "organization")
    tokens = ApiToken.objects.filter(user=request.user)
    new_token = request.session.pop("attt_new_token", None)
    return render(request, "core/profile.html", {"assignments": assignments, "tokens": tokens, "new_token": new_token})


@login_required
def totp_setup_view(request):
    if request.user.has_totp:
        return redirect("profile")
    secret = request.session.get("attt_totp_setup") or totp.new_secret()
    request.session["attt_totp_setup"] = secret
    form = _with_current_password(CodeForm(request.POST or None), request)
    if request.method == "POST" and form.is_valid():
        step = totp.matching_step(secret, form.cleaned_data["code"])
        if (error := _current_password_error(request, form)) is not None:
            form.add_error("password", error)
        elif step is not None:
            request.user.totp_secret = secret
            request.user.totp_last_step = step
            request.user.save(update_fields=["totp_secret", "totp_last_step"])
            request.session.pop("attt_totp_setup", None)
            messages.success(request, _("Two-step verification is on."))
            return redirect("profile")
        form.add_error("code", _("The code is not correct or has expired."))
    uri = totp.provisioning_uri(secret, request.user.username)
    return render(request, "core/totp_setup.html", {"form": form, "secret": secret, "qr": totp.qr_svg(uri)})


class PasswordConfirmForm(forms.Form):
    password = forms.CharField(label=gettext_lazy("Current password"), widget=forms.PasswordInput)


def _with_current_password(form: forms.Form, request) -> forms.Form:
    """`form` asking for the current password too, when the account has one: an authenticator enrolled or an API
    token made from a session left open would outlive it (and a password change). An account made for single
    sign-on has no password to ask for."""
    if request.user.has_usable_password():
        form.fields["password"] = copy.deepcopy(PasswordConfirmForm.base_fields["password"])
    return form


def _current_password_error(request, form: forms.Form) -> str | None:
    return _password_error(request, form.cleaned_data["password"]) if "password" in form.fields else None


def _password_error(request, password: str) -> str | None:
    """Why the current password, asked again on a profile page, is refused (None: it is right). Wrong ones count
    toward the log-in lock-out: a session left open is no way to guess the password without limit."""
    username = request.user.get_username()
    device = lockout.known_device(request, username)
    if lockout.is_locked(username, client_ip(request), device):
        _fail(request, username, "locked", device=device, counted=False)
        return _locked_message()
    if not request.user.check_password(password):
        _fail(request, username, "wrong current password", device=device)
        return _("The password is not correct.")
    return None


@login_required
def totp_disable_view(request):
    form = PasswordConfirmForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if (error := _password_error(request, form.cleaned_data["password"])) is None:
            request.user.totp_secret = ""
            request.user.save(update_fields=["totp_secret"])
            messages.success(request, _("Two-step verification is off."))
            return redirect("profile")
        form.add_error("password", error)
    return render(request, "core/confirm_password.html", {"form": form, "title": _("Turn off two-step verification")})


class TokenForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=100, required=False)
    days = forms.IntegerField(label=gettext_lazy("Valid for (days)"), min_value=1, max_value=365, initial=90)


@login_required
@require_POST
def token_create_view(request):
    form = _with_current_password(TokenForm(request.POST), request)
    if not form.is_valid():
        messages.error(request, _("The token could not be created: check the name and the number of days."))
    elif (error := _current_password_error(request, form)) is not None:
        messages.error(request, _("The token could not be created: %(reason)s") % {"reason": error})
    else:
        _token, key = ApiToken.issue(request.user, form.cleaned_data["name"], form.cleaned_data["days"])
        request.session["attt_new_token"] = key
    return redirect("profile")


@login_required
@require_POST
def token_revoke_view(request, pk):
    deleted = ApiToken.objects.filter(user=request.user, pk=pk).first()
    if deleted is not None:
        deleted.delete()
        messages.success(request, _("The token was revoked."))
    return redirect("profile")


class CountedPasswordChangeForm(PasswordChangeForm):
    """Django's form, with wrong current passwords counted toward the lock-out (`_password_error`)."""

    def __init__(self, user, *args, request, **kwargs):
        self.request = request
        super().__init__(user, *args, **kwargs)

    def clean_old_password(self):
        if error := _password_error(self.request, self.cleaned_data["old_password"]):
            raise ValidationError(error, code="password_incorrect")
        return self.cleaned_data["old_password"]


class AtttPasswordChangeView(PasswordChangeView):
    form_class = CountedPasswordChangeForm
    template_name = "core/form.html"
    success_url = reverse_lazy("profile")

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "request": self.request}

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "title": _("Change password")}

    def form_valid(self, form):
        messages.success(self.request, _("Your password was changed."))
        return super().form_valid(form)
