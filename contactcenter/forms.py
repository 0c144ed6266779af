"""Portal forms of the contact center: a number's routing settings."""

from typing import Any

from django import forms
from django.db.models import QuerySet

from contactcenter.taskrouter.models import NumberRouting, TaskChannel, Workflow
from tenants.models import Account

TEXT_CHANNEL = "sms"  # what a text's task takes unless chosen


def workflow_label(workflow: Workflow) -> str:
    """A workflow as a portal's choice names it: its workspace first, as names repeat across them."""
    return f"{workflow.workspace.friendly_name}: {workflow.friendly_name}"


def account_workflows(account: Account) -> "QuerySet[Workflow]":
    """The workflows a portal form offers: the account's own only, in the order workflow_label sorts."""
    return (
        Workflow.objects.for_account(account)
        .select_related("workspace")
        .order_by("workspace__friendly_name", "friendly_name")
    )


class WorkflowChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return workflow_label(obj)


class NumberRoutingForm(forms.Form):
    """A workflow of the account's (or none: texts are not routed) and a task channel of its
    workspace, by unique name."""

    workflow = WorkflowChoice(
        queryset=Workflow.objects.none(),
        required=False,
        empty_label="None: texts go to the number's SMS URL only",
        label="Workflow for inbound texts",
    )
    task_channel = forms.ChoiceField(
        label="Task channel for texts", help_text="Workers need capacity on this channel to get the texts."
    )

    def __init__(self, *args: Any, account: Account, current: NumberRouting | None, **kwargs: Any) -> None:
        if current is not None:
            kwargs.setdefault(
                "initial", {"workflow": current.workflow, "task_channel": current.task_channel.unique_name}
            )
        super().__init__(*args, **kwargs)
        workflow = self.fields["workflow"]
        assert isinstance(workflow, forms.ModelChoiceField)
        workflow.queryset = account_workflows(account)
        names = sorted(
            set(TaskChannel.objects.for_account(account).values_list("unique_name", flat=True))
            | {TEXT_CHANNEL}
        )
        channel = self.fields["task_channel"]
        assert isinstance(channel, forms.ChoiceField)
        channel.choices = [(name, name) for name in names]
        channel.initial = self.initial.get("task_channel", TEXT_CHANNEL)

    def clean(self) -> dict[str, Any]:
        """The chosen channel, as the chosen workflow's workspace has it."""
        cleaned = super().clean() or {}
        workflow, name = cleaned.get("workflow"), cleaned.get("task_channel")
        cleaned["task_channel"] = None
        if workflow is not None and name:
            found = TaskChannel.objects.filter(workspace_id=workflow.workspace_id, unique_name=name).first()
            if found is None:
                missing = f"The workspace {workflow.workspace.friendly_name} has no {name} channel."
                self.add_error("task_channel", missing)
            cleaned["task_channel"] = found
        return cleaned
