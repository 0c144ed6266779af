"""Portal forms for routing: a workspace, a worker (its attributes as JSON, its contact URI) and a task
queue (its `target_workers` checked by TaskRouter's own parser)."""

import json
from typing import Any

from django import forms

from contactcenter.taskrouter import expressions
from contactcenter.taskrouter.models import (
    DEFAULT_SERVICE_LEVEL_SECONDS,
    Activity,
    TaskQueue,
    Worker,
    Workspace,
)
from core.phone import to_e164
from tenants.models import Membership

CONTACT_URI = "contact_uri"  # the attribute a dequeue or call instruction dials (instructions.py)


class WorkspaceForm(forms.Form):
    friendly_name = forms.CharField(max_length=64, label="Name")
    with_fifo_queue = forms.BooleanField(
        required=False,
        initial=True,
        label="Start with a queue every worker serves and a workflow sending every task to it",
    )


def _member_label(member: Membership) -> str:
    return f"{member.user.email} ({member.role})"


class WorkerForm(forms.Form):
    friendly_name = forms.CharField(max_length=64, label="Name")
    contact_uri = forms.CharField(
        max_length=255,
        required=False,
        label="Contact URI",
        help_text="Where a dequeued call rings this worker: a SIP URI (sip:alice@pbx.example.com) "
        "or a number.",
    )
    attributes = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4, "class": "mono"}),
        initial="{}",
        label="Attributes (JSON)",
        help_text='What queues match on, e.g. {"skills": ["billing"], "languages": ["en", "es"]}.',
    )
    activity = forms.ModelChoiceField(queryset=Activity.objects.none(), empty_label=None, required=False)
    member = forms.ModelChoiceField(
        queryset=Membership.objects.none(),
        required=False,
        empty_label="Nobody (API only)",
        label="Portal member",
        help_text="Who works as this worker in the agent console (/console/).",
    )

    def __init__(self, *args: Any, workspace: Workspace, worker: Worker | None = None, **kwargs: Any) -> None:
        if worker is not None:
            attributes = dict(worker.attributes_json)
            contact = attributes.pop(CONTACT_URI, "")
            kwargs.setdefault(
                "initial",
                {
                    "friendly_name": worker.friendly_name,
                    "contact_uri": contact if isinstance(contact, str) else "",
                    "attributes": json.dumps(attributes),
                    "member": worker.member_id,
                },
            )
        super().__init__(*args, **kwargs)
        member = self.fields["member"]
        assert isinstance(member, forms.ModelChoiceField)
        member.queryset = (
            Membership.objects.filter(account_id=workspace.account_id)
            .select_related("user")
            .order_by("user__email")
        )
        member.label_from_instance = _member_label  # type: ignore[method-assign,assignment]
        if worker is None:
            activity = self.fields["activity"]
            assert isinstance(activity, forms.ModelChoiceField)
            activity.queryset = Activity.objects.filter(workspace=workspace).order_by("date_created", "id")
            activity.initial = workspace.default_activity_id
        else:  # an existing worker's activity changes on the board, with its events
            del self.fields["activity"]

    def clean_attributes(self) -> dict[str, Any]:
        try:
            value = json.loads(self.cleaned_data["attributes"])
        except ValueError as exc:
            raise forms.ValidationError(f"Not valid JSON: {exc}") from exc
        if not isinstance(value, dict):
            raise forms.ValidationError('Attributes must be a JSON object, like {"skills": ["billing"]}.')
        return value

    def clean_contact_uri(self) -> str:
        text: str = self.cleaned_data["contact_uri"].strip()
        if not text or text.lower().startswith(("sip:", "sips:")):
            return text
        number = to_e164(text)
        if number is None:
            raise forms.ValidationError("Enter a SIP URI (sip:…) or a phone number with its country code.")
        return number

    def attributes_text(self) -> str:
        """The attributes to save, the contact URI among them (as Twilio keeps it: an attribute)."""
        attributes = {k: v for k, v in self.cleaned_data["attributes"].items() if k != CONTACT_URI}
        if self.cleaned_data["contact_uri"]:
            attributes[CONTACT_URI] = self.cleaned_data["contact_uri"]
        return json.dumps(attributes)


class TaskQueueForm(forms.Form):
    friendly_name = forms.CharField(max_length=64, label="Name")
    target_workers = forms.CharField(
        max_length=4096,
        initial="1==1",
        label="Target workers",
        help_text="Which workers serve this queue, in TaskRouter's expression language: "
        'skills HAS "billing".',
        widget=forms.TextInput(attrs={"class": "mono"}),
    )
    max_reserved_workers = forms.IntegerField(
        min_value=1, max_value=50, initial=1, label="Workers offered each task at once"
    )
    task_order = forms.ChoiceField(
        choices=[(TaskQueue.Order.FIFO, "FIFO: oldest first"), (TaskQueue.Order.LIFO, "LIFO: newest first")],
        initial=TaskQueue.Order.FIFO,
        label="Order (among tasks of the same priority)",
    )
    service_level_seconds = forms.IntegerField(
        min_value=1,
        max_value=3600,
        required=False,
        initial=DEFAULT_SERVICE_LEVEL_SECONDS,
        label="Service level: answered within (seconds)",
        help_text="The wallboard counts a task answered within this wait toward the queue's service level.",
    )

    def clean_service_level_seconds(self) -> int:
        return self.cleaned_data["service_level_seconds"] or DEFAULT_SERVICE_LEVEL_SECONDS

    def clean_target_workers(self) -> str:
        text: str = self.cleaned_data["target_workers"]
        try:
            expressions.parse(text)
        except expressions.ExpressionError as exc:
            raise forms.ValidationError(str(exc)) from exc
        return text


class ActivityForm(forms.Form):
    """A worker's activity, chosen on the board."""

    activity = forms.ModelChoiceField(queryset=Activity.objects.none(), empty_label=None)

    def __init__(self, *args: Any, workspace: Workspace, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        activity = self.fields["activity"]
        assert isinstance(activity, forms.ModelChoiceField)
        activity.queryset = Activity.objects.filter(workspace=workspace)


class DispositionsForm(forms.Form):
    """The codes an agent picks from when wrapping up a task in the console, one a line."""

    MAX_CODES = 50

    codes = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 8}),
        label="Wrap-up codes",
        help_text="One a line, up to 64 characters each, in the order agents see them.",
    )

    def clean_codes(self) -> list[str]:
        codes = list(dict.fromkeys(line.strip() for line in self.cleaned_data["codes"].splitlines()))
        codes = [code for code in codes if code]
        if not codes:
            raise forms.ValidationError("Give agents at least one code.")
        if len(codes) > self.MAX_CODES or any(len(code) > 64 for code in codes):
            raise forms.ValidationError(f"At most {self.MAX_CODES} codes of up to 64 characters each.")
        return codes
