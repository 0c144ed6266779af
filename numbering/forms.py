"""Portal form for adding a phone number."""

from django import forms

from core.phone import to_e164


class NumberForm(forms.Form):
    phone_number = forms.CharField(
        max_length=32,
        label="Phone number (E.164)",
        widget=forms.TextInput(attrs={"placeholder": "+15017122661"}),
    )
    friendly_name = forms.CharField(max_length=64, required=False)
    voice_url = forms.URLField(max_length=1024, required=False, assume_scheme="https", label="Voice URL")
    sms_url = forms.URLField(max_length=1024, required=False, assume_scheme="https", label="SMS URL")

    def clean_phone_number(self) -> str:
        e164 = to_e164(self.cleaned_data["phone_number"])
        if e164 is None:
            raise forms.ValidationError("Enter a valid number with its country code, like +15017122661.")
        return e164
