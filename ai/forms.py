"""The portal's agent, FAQ entry and test console forms."""

import json
from typing import Any

from django import forms

from ai.models import BUILTIN_TOOLS, Agent
from contactcenter.forms import account_workflows, workflow_label
from tenants.models import Account


class AgentForm(forms.Form):
    friendly_name = forms.CharField(max_length=64, label="Name")
    welcome_greeting = forms.CharField(max_length=1024, required=False, label="Greeting")
    instructions = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), required=False)
    language = forms.CharField(max_length=16, initial="en-US")
    brain = forms.ChoiceField(
        choices=[
            (Agent.Brain.SCRIPTED, "Scripted (offline: FAQ entries and phrases)"),
            (Agent.Brain.OPENAI, "OpenAI-compatible model"),
        ],
        initial=Agent.Brain.SCRIPTED,
    )
    llm_model = forms.CharField(max_length=128, required=False, label="LLM model")
    llm_endpoint = forms.URLField(
        max_length=2048, required=False, assume_scheme="https", label="LLM endpoint (OpenAI-compatible)"
    )
    llm_api_key = forms.CharField(
        max_length=512, required=False, widget=forms.PasswordInput, label="LLM API key (blank keeps it)"
    )
    tools = forms.MultipleChoiceField(
        choices=[(name, name) for name in BUILTIN_TOOLS], required=False, widget=forms.CheckboxSelectMultiple
    )
    webhook_tools = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        label="Webhook tools (JSON)",
        help_text='A list of {"name", "description", "parameters" (JSON schema), "url", "method"}.',
    )
    handoff_workflow_sid = forms.ChoiceField(
        required=False,
        label="Hand-off workflow",
        help_text="One of this account's TaskRouter workflows (Routing): a caller handed to a person "
        "becomes a task.",
    )
    handoff_queue = forms.CharField(
        max_length=64,
        required=False,
        label="Hand-off queue name",
        help_text="Without a workflow, the call queue the caller waits in. With neither, the agent offers no "
        "person: callers asking for one are offered a message (or a text).",
    )
    max_turns_without_progress = forms.IntegerField(min_value=1, max_value=20, initial=3)
    is_redacting = forms.BooleanField(required=False, label="Redact card numbers and identifiers")

    def __init__(self, *args: Any, account: Account, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        workflow = self.fields["handoff_workflow_sid"]
        assert isinstance(workflow, forms.ChoiceField)
        named = [(w.sid, workflow_label(w)) for w in account_workflows(account)]
        workflow.choices = [("", "None (the queue below, if any)"), *named]

    def clean_webhook_tools(self) -> list[Any]:
        text = self.cleaned_data["webhook_tools"].strip() or "[]"
        try:
            tools = json.loads(text)
        except ValueError as exc:
            raise forms.ValidationError("Not valid JSON.") from exc
        if not isinstance(tools, list):
            raise forms.ValidationError("A JSON list of tools.")
        return tools

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("brain") == Agent.Brain.OPENAI:  # said here in the form's words, not the API's
            for name in ("llm_endpoint", "llm_model"):
                if name in cleaned and not cleaned[name]:
                    self.add_error(name, "Required for a model.")
        return cleaned


class FaqEntryForm(forms.Form):
    phrases = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), help_text="One phrase a line.")
    answer = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=4000)


class ConsoleForm(forms.Form):
    text = forms.CharField(max_length=2000, label="Say, as the caller")
