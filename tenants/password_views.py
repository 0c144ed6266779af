"""Portal pages for resetting a forgotten password by e-mail: Django's views, with our throttling and
audit around them (tenants/signin.py)."""

from typing import Any

from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import PasswordResetForm, SetPasswordForm
from django.http import HttpResponse, HttpResponseRedirect

from tenants.signin import password_reset_complete, password_reset_request


def _address(view: auth_views.PasswordContextMixin) -> str:
    return str(view.request.META.get("REMOTE_ADDR") or "unknown")  # type: ignore[attr-defined]


class PasswordResetView(auth_views.PasswordResetView):
    template_name = "tenants/password_reset_form.html"
    email_template_name = "tenants/password_reset_email.txt"
    subject_template_name = "tenants/password_reset_subject.txt"
    success_url = "/password/reset/sent/"

    def form_valid(self, form: PasswordResetForm) -> HttpResponse:
        options: dict[str, Any] = {
            "use_https": self.request.is_secure(),
            "token_generator": self.token_generator,
            "from_email": self.from_email,
            "email_template_name": self.email_template_name,
            "subject_template_name": self.subject_template_name,
            "request": self.request,
            "html_email_template_name": self.html_email_template_name,
            "extra_email_context": self.extra_email_context,
        }
        password_reset_request(
            email=form.cleaned_data["email"], address=_address(self), send=lambda: form.save(**options)
        )
        return HttpResponseRedirect(self.get_success_url())


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "tenants/password_reset_sent.html"


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "tenants/password_reset_confirm.html"
    success_url = "/password/reset/done/"

    def form_valid(self, form: SetPasswordForm) -> HttpResponse:
        response = super().form_valid(form)
        password_reset_complete(user=form.user, address=_address(self))  # type: ignore[arg-type]
        return response


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "tenants/password_reset_done.html"
