"""The demo tenant's front desk, so a newcomer can route a call to a person in two minutes.

`demo_front_desk_ensure` gives the demo account a TaskRouter workspace "Demo clinic" with a "Front
desk" queue, a workflow routing every task there, and a worker "Reception" (Available at every start)
who answers at RECEPTION_SIP, where `scripts/agent-demo` runs sipp as the receptionist's phone, and
whom the demo's owner works as in the agent console (/console/). The demo IVR's 4 (voice/demo.py)
redirects to `front_desk`, which enqueues the caller on that workflow with the platform's hold music.
The workflow's assignment callback, `assignment`, leaves the reservation to the console while one of
Reception's consoles is open (the agent accepts it there: a call then rings the browser's softphone);
otherwise it answers a call's reservation with `dequeue` (the caller is bridged to sipp's Reception)
and a text's with `accept`; the workspace's event callback, `events`, completes a task as it wraps up
(but for an open console's, whose agent completes it with a disposition and notes), since sipp's
receptionist has no after-call work, so Reception is free for the next call. Texts to the demo number
enter the same workflow on the `sms` channel (NumberRouting).
"""

import json
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse

from contactcenter.console_live import console_is_open
from contactcenter.number_routing import number_routing_set
from contactcenter.taskrouter.models import (
    Activity,
    NumberRouting,
    Reservation,
    Task,
    TaskChannel,
    TaskQueue,
    Worker,
    Workflow,
    Workspace,
)
from contactcenter.taskrouter.task_lifecycle import task_update
from contactcenter.taskrouter.workers import worker_create, worker_member_set, worker_update
from contactcenter.taskrouter.workspaces import (
    task_queue_create,
    workflow_create,
    workflow_update,
    workspace_create,
    workspace_update,
)
from core.sids import sid_to_uuid
from core.tenancy import tenant_activate, tenant_scope
from numbering.demo import DEMO_NUMBER
from numbering.models import IncomingPhoneNumber
from tenants.demo import DEMO_ACCOUNT_ID, DEMO_EMAIL, demo_view
from tenants.models import Account, Membership
from twiml import verbs
from twiml.builder import to_xml

WORKSPACE = "Demo clinic"
QUEUE = "Front desk"
WORKFLOW = "Front desk"
RECEPTION = "Reception"
# Where `scripts/agent-demo` answers; scripts/run admits it in SWITCHBOARD_EGRESS_ALLOW, as tenants'
# SIP addresses on loopback are refused otherwise (core/egress.py). Not 5070: that is the test suite's
# Asterisk (tests/asterisk.py), which a test run on the same machine holds, so sipp could not bind it
# and the demo's calls went to the tests' Asterisk.
RECEPTION_SIP = "sip:reception@127.0.0.1:5062"
EARLIER_RECEPTION_SIPS = frozenset({"sip:reception@127.0.0.1:5070"})
ACTOR = "system:demo"
VOICE = "woman"
WRAPUP_EVENT = "task.wrapup"


@dataclass(frozen=True)
class FrontDesk:
    workspace: Workspace
    queue: TaskQueue
    workflow: Workflow
    reception: Worker


def _urls() -> dict[str, str]:
    base = f"{settings.PUBLIC_BASE_URL}/demo/front-desk"
    return {"assignment": f"{base}/assignment/", "events": f"{base}/events/"}


def demo_front_desk_ensure(*, account: Account) -> FrontDesk:
    """Create the demo's workspace, queue, workflow and worker once; on every run point the callbacks
    at this server (its URL may have changed) and make Reception Available, ready for a call."""
    urls = _urls()
    with transaction.atomic():
        tenant_activate(account.id)
        workspace = Workspace.objects.filter(account=account, friendly_name=WORKSPACE).first()
        if workspace is None:
            workspace = workspace_create(
                account=account,
                actor=ACTOR,
                friendly_name=WORKSPACE,
                event_callback_url=urls["events"],
                events_filter=WRAPUP_EVENT,
            )
        elif workspace.event_callback_url != urls["events"]:
            workspace_update(workspace=workspace, actor=ACTOR, event_callback_url=urls["events"])
        queue = TaskQueue.objects.filter(workspace=workspace, friendly_name=QUEUE).first() or (
            task_queue_create(workspace=workspace, actor=ACTOR, friendly_name=QUEUE)
        )
        workflow = Workflow.objects.filter(workspace=workspace, friendly_name=WORKFLOW).first()
        if workflow is None:
            workflow = workflow_create(
                workspace=workspace,
                actor=ACTOR,
                friendly_name=WORKFLOW,
                configuration=json.dumps({"task_routing": {"default_filter": {"queue": queue.sid}}}),
                assignment_callback_url=urls["assignment"],
            )
        elif workflow.assignment_callback_url != urls["assignment"]:
            workflow_update(workflow=workflow, actor=ACTOR, assignment_callback_url=urls["assignment"])
        available = Activity.objects.get(workspace=workspace, friendly_name="Available")
        reception = Worker.objects.filter(workspace=workspace, friendly_name=RECEPTION).first()
        if reception is None:
            reception = worker_create(
                workspace=workspace,
                friendly_name=RECEPTION,
                attributes=json.dumps({"contact_uri": RECEPTION_SIP}),
                activity_sid=available.sid,
                actor=ACTOR,
            )
        elif reception.activity_id != available.id:
            reception = worker_update(worker=reception, activity_sid=available.sid, actor=ACTOR)
        reception = _reception_contact_current(reception)
        reception = _reception_owner_link(account=account, reception=reception)
        number = IncomingPhoneNumber.objects.filter(account=account, phone_number=DEMO_NUMBER).first()
        if number is not None and not NumberRouting.objects.filter(phone_number=number).exists():
            number_routing_set(
                account=account,
                actor=ACTOR,
                number=number,
                workflow=workflow,
                task_channel=TaskChannel.objects.get(workspace=workspace, unique_name="sms"),
            )
    return FrontDesk(workspace=workspace, queue=queue, workflow=workflow, reception=reception)


def _reception_contact_current(reception: Worker) -> Worker:
    """Move a Reception seeded with an earlier default contact URI to RECEPTION_SIP, where
    `scripts/agent-demo` answers now; a contact URI someone chose stays."""
    attributes = reception.attributes_json
    if attributes.get("contact_uri") not in EARLIER_RECEPTION_SIPS:
        return reception
    moved = json.dumps(attributes | {"contact_uri": RECEPTION_SIP})
    return worker_update(worker=reception, attributes=moved, actor=ACTOR)


def _reception_owner_link(*, account: Account, reception: Worker) -> Worker:
    """Link the demo's owner to Reception when nobody works as it, so /console/ is not a 404 on first
    sign-in: the newcomer takes the front desk's calls and texts in the browser at once. A member
    someone chose on the worker's page stays."""
    if reception.member_id is not None:
        return reception
    owner = Membership.objects.filter(account=account, user__email=DEMO_EMAIL).first()
    if owner is None or Worker.objects.filter(workspace_id=reception.workspace_id, member=owner).exists():
        return reception
    return worker_member_set(worker=reception, member=owner, actor=ACTOR)


def _console_takes(worker_sid: str) -> bool:
    """Whether an agent console of the worker is open: its agent accepts the offer there, so the
    callback must not answer for them (a `dequeue` to sipp would race the console's Accept, take the
    caller away from the browser, and leave the console's Accept refused)."""
    worker_id = sid_to_uuid(worker_sid, "WK")
    return worker_id is not None and console_is_open(worker_id=worker_id)


def _console_wraps_up(task: Task) -> bool:
    """Whether the worker holding the task has a console open: its agent completes the task there with
    a disposition and notes, which completing it here, as the caller hangs up, would take away."""
    holders = Reservation.objects.filter(task=task, status__in=Reservation.HOLDING, worker__isnull=False)
    return any(
        console_is_open(worker_id=worker_id) for worker_id in holders.values_list("worker_id", flat=True)
    )


@demo_view
def front_desk(request: HttpRequest) -> HttpResponse:
    """The IVR's 4: wait for the front desk on the platform's hold music (no waitUrl)."""
    with tenant_scope(DEMO_ACCOUNT_ID):
        workflow = Workflow.objects.filter(workspace__friendly_name=WORKSPACE, friendly_name=WORKFLOW).first()
    if workflow is None:
        document = verbs.Response(
            (verbs.Say("The front desk is not set up. Goodbye.", voice=VOICE), verbs.Hangup())
        )
    else:
        document = verbs.Response(
            (
                verbs.Say("Connecting you to the front desk. Please hold.", voice=VOICE),
                verbs.Enqueue(  # named, or the Queues page lists the caller under the workflow's SID
                    QUEUE,
                    workflow_sid=workflow.sid,
                    task=verbs.Task(json.dumps({"type": "front-desk"})),
                ),
                verbs.Say("Thank you for calling the Switchboard demo clinic. Goodbye.", voice=VOICE),
                verbs.Hangup(),
            )
        )
    return HttpResponse(to_xml(document), content_type="text/xml")


@demo_view
def assignment(request: HttpRequest) -> HttpResponse:
    """The workflow's assignment callback: no instruction while the worker's console is open (the
    agent accepts there); else bridge a waiting call to the worker's phone, and take a text as is."""
    if _console_takes(request.POST.get("WorkerSid", "")):
        return HttpResponse(status=204)  # an empty answer: the reservation waits for the console
    if request.POST.get("TaskChannelUniqueName") == "voice":
        return JsonResponse({"instruction": "dequeue", "from": DEMO_NUMBER})
    return JsonResponse({"instruction": "accept"})


@demo_view
def events(request: HttpRequest) -> HttpResponse:
    """The workspace's event callback: a task wrapping up is completed at once, unless its agent wraps
    it up in the console."""
    task_id = sid_to_uuid(request.POST.get("TaskSid", ""), "WT")
    if request.POST.get("EventType") == WRAPUP_EVENT and task_id is not None:
        with tenant_scope(DEMO_ACCOUNT_ID):
            task = Task.objects.filter(id=task_id, status=Task.Status.WRAPPING).first()
            if task is not None and not _console_wraps_up(task):
                task_update(task=task, assignment_status=Task.Status.COMPLETED, reason="Demo call ended")
    return HttpResponse(status=204)
