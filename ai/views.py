"""The agents' web endpoints: the TwiML that connects a number's calls to an agent and its hand-off
(fetched by the platform's voice worker, signed like any webhook), and the portal's agent pages with
the test console."""

import functools
import json
import uuid
from collections.abc import Callable

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseForbidden
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from ai import services
from ai.console import MAX_CONSOLE_LINES, console_say
from ai.forms import AgentForm, ConsoleForm, FaqEntryForm
from ai.handoff import agent_hints, agent_twiml, agent_twiml_url, handoff_twiml
from ai.models import Agent, FaqEntry
from ai.runtime import PERSON_OFFER
from ai.stream_outcomes import stream_outcome_take
from core import webhooks
from core.errors import TwilioError
from core.sids import row_by_sid, sid_to_uuid
from core.tenancy import tenant_scope
from numbering.models import IncomingPhoneNumber
from tenants.models import Account
from tenants.portal import Confirmation, confirmed, portal_view, render_page
from tenants.roles import ROLES_MANAGING_AGENTS
from twiml import verbs
from twiml.builder import to_xml

CONSOLE_KEY = "ai-console:{}"
CONSOLE_ENDED_KEY = "ai-console-ended:{}"


def _signed_account(request: HttpRequest) -> uuid.UUID | None:
    """The account the request's `AccountSid` names, when its X-Twilio-Signature proves it."""
    account_id = sid_to_uuid(request.POST.get("AccountSid", ""), Account.SID_PREFIX)
    if account_id is None:
        return None
    with tenant_scope(account_id):
        account = Account.objects.filter(id=account_id).first()
        tokens = [t for t in (account.auth_token, account.secondary_auth_token) if t] if account else []
    params = {key: request.POST.getlist(key) for key in request.POST}
    received = request.headers.get("X-Twilio-Signature", "")
    urls = (f"{settings.PUBLIC_BASE_URL}{request.get_full_path()}", request.build_absolute_uri())
    signed = any(
        webhooks.is_valid_signature(url, params, token, received) for url in urls for token in tokens
    )
    return account_id if signed else None


def _twiml(document: verbs.Response) -> HttpResponse:
    return HttpResponse(to_xml(document), content_type="text/xml")


def _signed_agent_endpoint(
    view: Callable[[HttpRequest, Agent | None], HttpResponse],
) -> Callable[[HttpRequest, str], HttpResponse]:
    """An endpoint the voice worker fetches: refused unless signed by the account its `AccountSid`
    names, then `view` runs in that tenant's scope with the account's agent of that sid (or None)."""

    @csrf_exempt
    @require_POST
    @functools.wraps(view)
    def endpoint(request: HttpRequest, sid: str) -> HttpResponse:
        account_id = _signed_account(request)
        if account_id is None:
            return HttpResponseForbidden("invalid X-Twilio-Signature")
        with tenant_scope(account_id):
            return view(request, row_by_sid(Agent.objects.filter(account_id=account_id), sid))

    return endpoint


@_signed_agent_endpoint
def agent_twiml_view(request: HttpRequest, agent: Agent | None) -> HttpResponse:
    """A number's Voice URL: connect the call to the agent."""
    if agent is None:
        raise Http404("No such agent")
    return _twiml(agent_twiml(agent, hints=",".join(agent_hints(agent))))


@_signed_agent_endpoint
def agent_handoff_view(request: HttpRequest, agent: Agent | None) -> HttpResponse:
    """The `<Connect action>`: where the call goes once the agent's session has ended."""
    if agent is None:
        return _twiml(verbs.Response((verbs.Hangup(),)))
    handoff, status, error = (
        request.POST.get("HandoffData", ""),
        request.POST.get("SessionStatus", "completed"),
        request.POST.get("ErrorMessage", ""),
    )
    if agent.is_speech_to_speech and "SessionStatus" not in request.POST:
        # a <Connect><Stream>, which tells the action nothing: the session left its outcome
        outcome = stream_outcome_take(request.POST["AccountSid"], request.POST.get("CallSid", ""))
        if outcome is None:  # the session died without a word: the caller is told and handed over
            handoff, status, error = "", "ended", ""
        else:
            handoff, status, error = outcome["handoff_data"], outcome["status"], outcome["error"]
    return _twiml(handoff_twiml(agent, handoff_data=handoff, session_status=status, error=error))


@portal_view(roles=ROLES_MANAGING_AGENTS)
def agents_view(request: HttpRequest) -> HttpResponse:
    tenant = request.tenant  # type: ignore[attr-defined]
    form = AgentForm(request.POST or None, account=tenant.account)
    if request.method == "POST" and form.is_valid():
        try:
            agent = services.agent_create(account=tenant.account, actor=tenant.actor, **form.cleaned_data)
            return redirect("agent", sid=agent.sid)
        except TwilioError as error:
            form.add_error(None, error.message)
    agents = Agent.objects.for_account(tenant.account).order_by("friendly_name")
    return render_page(request, "ai/agents.html", "ai/agents.html", {"form": form, "agents": agents})


def _agent_or_404(request: HttpRequest, sid: str) -> Agent:
    agent = row_by_sid(Agent.objects.for_account(request.tenant.account), sid)  # type: ignore[attr-defined]
    if agent is None:
        raise Http404("No such agent")
    return agent


def _agent_initial(agent: Agent) -> dict[str, object]:
    fields = [name for name in AgentForm.base_fields if name not in ("llm_api_key", "webhook_tools")]
    return {name: getattr(agent, name) for name in fields} | {
        "webhook_tools": json.dumps(agent.webhook_tools)
    }


@portal_view(roles=ROLES_MANAGING_AGENTS)
def agent_view(request: HttpRequest, sid: str) -> HttpResponse:
    """An agent's settings, FAQ entries and test console, each form posting its own `action`."""
    tenant = request.tenant  # type: ignore[attr-defined]
    agent = _agent_or_404(request, sid)
    action = request.POST.get("action", "")
    data = request.POST if request.method == "POST" else None
    form = AgentForm(
        data if action == "save" else None, initial=_agent_initial(agent), account=tenant.account
    )
    faq_form = FaqEntryForm(data if action == "faq" else None)
    console_form = ConsoleForm(data if action == "say" else None)
    history: list[dict[str, str]] = request.session.get(CONSOLE_KEY.format(agent.sid), [])
    has_ended: bool = request.session.get(CONSOLE_ENDED_KEY.format(agent.sid), False)
    try:
        if action == "save" and form.is_valid():
            changes = dict(form.cleaned_data)
            key = changes.pop("llm_api_key") or None
            services.agent_update(agent=agent, actor=tenant.actor, llm_api_key=key, **changes)
            return redirect("agent", sid=agent.sid)
        if action == "faq" and faq_form.is_valid():
            services.faq_entry_create(agent=agent, actor=tenant.actor, **faq_form.cleaned_data)
            return redirect("agent", sid=agent.sid)
        if action == "faq-delete":
            entry = row_by_sid(FaqEntry.objects.filter(agent=agent), request.POST.get("entry", ""))
            if entry is not None:
                services.faq_entry_delete(entry=entry, actor=tenant.actor)
            return redirect("agent", sid=agent.sid)
        if action == "assign":
            number = row_by_sid(
                IncomingPhoneNumber.objects.for_account(tenant.account), request.POST.get("number", "")
            )
            if number is not None:
                services.agent_number_assign(agent=agent, number=number, actor=tenant.actor)
            return redirect("agent", sid=agent.sid)
        if action == "restart":
            history, has_ended = [], False
        if action == "say" and not has_ended and not agent.is_speech_only and console_form.is_valid():
            reply = console_say(agent=agent, history=history, text=console_form.cleaned_data["text"])
            lines = [{"role": line.role, "text": line.text} for line in reply.lines]
            history = [*history, *lines][-MAX_CONSOLE_LINES:]  # the session keeps a console, not an archive
            console_form = ConsoleForm()
            has_ended = reply.has_ended  # as a call would, the session ends: only Start over goes on
    except TwilioError as error:
        (form if action == "save" else faq_form).add_error(None, error.message)
    request.session[CONSOLE_KEY.format(agent.sid)] = history
    request.session[CONSOLE_ENDED_KEY.format(agent.sid)] = has_ended
    context = {
        "agent": agent,
        "form": form,
        "faq_form": faq_form,
        "console_form": console_form,
        "history": history,
        "has_ended": has_ended,
        "faq_entries": agent.faq_entries.order_by("date_created"),
        "twiml_url": agent_twiml_url(agent),
        "numbers": IncomingPhoneNumber.objects.for_account(tenant.account).order_by("phone_number"),
        "answering": services.agent_numbers(agent),
        "greeting_offers_person": bool(PERSON_OFFER.search(agent.welcome_greeting)),
    }
    return render_page(request, "ai/agent.html", "ai/partials/console.html", context)


@portal_view(roles=ROLES_MANAGING_AGENTS)
def agent_delete_view(request: HttpRequest, sid: str) -> HttpResponse:
    """Delete an agent once confirmed; while a number still answers with it, the page says which and
    offers no button (the service refuses too, should one be pointed at it meanwhile)."""
    tenant = request.tenant  # type: ignore[attr-defined]
    agent = _agent_or_404(request, sid)
    answering = services.agent_numbers(agent)
    refusal = (
        f"{', '.join(n.phone_number for n in answering)} still answers with this agent: "
        "point it at another agent or app (Phone numbers) first."
        if answering
        else ""
    )
    if confirmed(request, agent.sid) and not refusal:
        deleted = agent.sid  # a deleted row has no id, hence no SID
        try:
            services.agent_delete(agent=agent, actor=tenant.actor)
            request.session.pop(CONSOLE_KEY.format(deleted), None)
            request.session.pop(CONSOLE_ENDED_KEY.format(deleted), None)
            return redirect("agents")
        except TwilioError as error:
            refusal = error.message
    return Confirmation(
        title=f"Delete {agent.friendly_name}?",
        consequences=[
            f"The agent {agent.friendly_name} ({agent.sid}), its settings and its FAQ entries are deleted.",
            "Its conversations, transcripts and audit entries stay in their logs.",
        ],
        button=f"Delete {agent.friendly_name}",
        back_url=reverse("agent", kwargs={"sid": agent.sid}),
        token=agent.sid,
        refusal=refusal,
    ).render(request)
