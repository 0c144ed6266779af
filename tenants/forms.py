"""Portal forms for signing in, two-factor and recovery codes, API keys and invitations."""

from django import forms
from django.contrib.auth.password_validation import validate_password

from tenants.models import Role


class LoginForm(forms.Form):
    email = forms.EmailField()
    password = forms.CharField(widget=forms.PasswordInput)


class TokenForm(forms.Form):
    token = forms.RegexField(
        regex=r"^\d{6}$",
        label="6-digit code",
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )


class SecondFactorForm(forms.Form):
    """A 6-digit authenticator code or an 8-character recovery code (spaces and dashes ignored)."""

    token = forms.RegexField(
        regex=r"^[0-9A-Za-z -]{6,20}$",
        label="Code",
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "autocapitalize": "none"}),
    )


class KeyForm(forms.Form):
    friendly_name = forms.CharField(max_length=64, required=False, label="Name")


class InviteForm(forms.Form):
    """An invitation's e-mail and role, agent unless chosen: the first role offered was owner, so an
    invitation sent without a look at the role made its guest an owner of the account."""

    email = forms.EmailField()
    role = forms.ChoiceField(choices=[], initial=Role.AGENT.value)

    def __init__(self, *args: object, roles: list[Role], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["role"].choices = [(role.value, role.label) for role in roles]  # type: ignore[attr-defined]


class NewMemberForm(forms.Form):
    """A password for someone joining through an invitation who has no sign-in yet."""

    password1 = forms.CharField(label="Choose a password", widget=forms.PasswordInput)
    password2 = forms.CharField(label="The password again", widget=forms.PasswordInput)

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        if data.get("password1") != data.get("password2"):
            raise forms.ValidationError("The two passwords are not the same.")
        if data.get("password1"):
            validate_password(str(data["password1"]))
        return data
