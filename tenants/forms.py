"""Portal forms for signing in, two-factor codes and API keys."""

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


class KeyForm(forms.Form):
    friendly_name = forms.CharField(max_length=64, required=False, label="Name")
