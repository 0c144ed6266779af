"""Portal form for a bulk alert: sender, class, threat basis, text, and the recipients pasted or uploaded."""

from typing import Any

from django import forms

from core.errors import TwilioError
from messaging.bulk.input import recipients_from_csv, recipients_from_text
from messaging.create import MAX_BODY_CHARS
from messaging.models import Bulk
from numbering.models import IncomingPhoneNumber
from tenants.models import Account


class BulkForm(forms.Form):
    from_number = forms.ChoiceField(label="Send from")
    # No class is preselected (a browser would otherwise show the first, emergency): sending without
    # prior consent is a choice someone makes, never what a form fell back to.
    message_class = forms.ChoiceField(
        choices=[("", "Choose a class"), *Bulk.MessageClass.choices],
        label="Class",
        help_text="Emergency: health or safety, sent without prior consent; say why below. School mission: "
        "closely related to the school's mission. Marketing: anything else.",
    )
    threat_basis = forms.CharField(
        required=False,
        max_length=2000,
        label="Threat basis (emergency alerts)",
        widget=forms.Textarea(
            attrs={"rows": 2, "placeholder": "The threat this alert answers; kept in the audit log"}
        ),
    )
    body = forms.CharField(
        max_length=MAX_BODY_CHARS, label="Text message", widget=forms.Textarea(attrs={"rows": 3})
    )
    recipients = forms.CharField(
        required=False,
        label="Recipients",
        help_text="Numbers with their country code, one per line (a few thousand; upload longer lists).",
        widget=forms.Textarea(attrs={"rows": 5, "placeholder": "+14155550100\n+14155550101"}),
    )
    recipients_file = forms.FileField(
        required=False,
        label="Or a CSV file",
        help_text=f"Up to {Bulk.MAX_RECIPIENTS:,} numbers, in the column headed phone (or the first column).",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )

    def __init__(self, *args: Any, account: Account, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        numbers = IncomingPhoneNumber.objects.for_account(account).order_by("phone_number")
        sender = self.fields["from_number"]
        assert isinstance(sender, forms.ChoiceField)
        sender.choices = [(n.phone_number, n.phone_number) for n in numbers]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        upload = data.get("recipients_file")
        if upload is not None:
            try:
                data["recipient_list"] = recipients_from_csv(upload.read(), parameter="file")
            except TwilioError as error:
                self.add_error("recipients_file", error.message)
                data["recipient_list"] = []
                return data
        else:
            data["recipient_list"] = recipients_from_text(data.get("recipients", ""))
        if not data["recipient_list"]:
            self.add_error("recipients", "Give at least one recipient, or upload a CSV file.")
        return data
