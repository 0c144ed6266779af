"""Portal form for filtering the calls log (a GET form: every field optional)."""

from datetime import date, datetime, time, timedelta

from django import forms
from django.db.models import Q, QuerySet
from django.utils import timezone

from voice.models import Call


def _choices(anything: str, values: list[str]) -> list[tuple[str, str]]:
    """Twilio's own spellings (`outbound-api`, `no-answer`), as the log's columns show them."""
    return [("", anything), *((value, value) for value in values)]


class CallFilterForm(forms.Form):
    status = forms.ChoiceField(choices=_choices("Any status", Call.Status.values), required=False)
    direction = forms.ChoiceField(choices=_choices("Any direction", Call.Direction.values), required=False)
    number = forms.CharField(
        max_length=32,
        required=False,
        label="Number contains",
        widget=forms.TextInput(attrs={"placeholder": "+1501", "inputmode": "tel"}),
    )
    date_from = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self) -> dict[str, object]:
        cleaned = super().clean() or {}
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", "Pick a date on or after the start date.")
        return cleaned

    def filter(self, calls: QuerySet[Call]) -> QuerySet[Call]:
        """Apply the fields that are valid; an invalid field is shown with its error and ignored.

        Dates are whole days in the portal's time zone, compared as a range on `date_created` so the
        account's paging index still serves the query.
        """
        self.is_valid()  # runs validation once; later calls reuse the result
        data = self.cleaned_data
        if data.get("status"):
            calls = calls.filter(status=data["status"])
        if data.get("direction"):
            calls = calls.filter(direction=data["direction"])
        if number := (data.get("number") or "").strip():
            calls = calls.filter(Q(from_number__icontains=number) | Q(to_number__icontains=number))
        if data.get("date_from"):
            calls = calls.filter(date_created__gte=_day_start(data["date_from"]))
        if data.get("date_to"):
            calls = calls.filter(date_created__lt=_day_start(data["date_to"] + timedelta(days=1)))
        return calls


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))
