"""Portal forms for signing in, two-factor and recovery codes, and API keys."""

from django import forms


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
