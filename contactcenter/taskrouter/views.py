"""Portal pages for routing: the workspaces (and a new one), a workspace's live board (queues,
workers, each worker's activity changed from it), and the forms for workers and task queues. Each
view calls the engine's or the configuration's service and renders; errors are shown as the API
would give them."""

from typing import Any, TypeVar

from django.db import models, transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from contactcenter.taskrouter.board import board_fragment
from contactcenter.taskrouter.forms import (
    ActivityForm,
    DispositionsForm,
    TaskQueueForm,
    WorkerForm,
    WorkspaceForm,
)
from contactcenter.taskrouter.models import TaskQueue, Worker, Workspace
from contactcenter.taskrouter.workers import worker_create, worker_member_set, worker_update
from contactcenter.taskrouter.workspaces import (
    FIFO_TEMPLATE,
    task_queue_create,
    task_queue_update,
    workspace_create,
    workspace_update,
)
from core.errors import TwilioError
from core.sids import sid_to_uuid
from tenants.portal import portal_view
from tenants.roles import ROUTING_MANAGER_ROLES, ROUTING_VIEWER_ROLES

Row = TypeVar("Row", bound=models.Model)


def _can_manage(request: HttpRequest) -> bool:
    return request.tenant.membership.role in ROUTING_MANAGER_ROLES  # type: ignore[attr-defined,no-any-return]


def _workspace(request: HttpRequest, sid: str) -> Workspace:
    """The current account's workspace `sid`; another account's is not found, as any unknown SID."""
    pk = sid_to_uuid(sid, Workspace.SID_PREFIX)
    account = request.tenant.account  # type: ignore[attr-defined]
    found = Workspace.objects.for_account(account).filter(id=pk).first() if pk else None
    if found is None:
        raise Http404("No such workspace")
    return found


def _child(workspace: Workspace, model: type[Row], sid: str) -> Row:
    pk = sid_to_uuid(sid, model.SID_PREFIX)  # type: ignore[attr-defined]
    found = model.objects.filter(workspace=workspace, id=pk).first() if pk else None  # type: ignore[attr-defined]
    if found is None:
        raise Http404("Not in this workspace")
    return found  # type: ignore[no-any-return]


@portal_view(roles=ROUTING_VIEWER_ROLES)
def workspaces_view(request: HttpRequest) -> HttpResponse:
    """The account's workspaces, and (for who may) the form creating one with TaskRouter's defaults:
    activities Offline/Available/Unavailable, the five task channels, optionally a FIFO queue and
    workflow, so tasks route as soon as workers are available."""
    tenant = request.tenant  # type: ignore[attr-defined]
    can_manage = _can_manage(request)
    form = WorkspaceForm(request.POST or None)
    if request.method == "POST" and can_manage and form.is_valid():
        try:
            workspace = workspace_create(
                account=tenant.account,
                actor=tenant.actor,
                friendly_name=form.cleaned_data["friendly_name"],
                template=FIFO_TEMPLATE if form.cleaned_data["with_fifo_queue"] else None,
            )
        except TwilioError as error:
            form.add_error(None, error.message)
        else:
            return redirect("routing-board", sid=workspace.sid)
    workspaces = Workspace.objects.for_account(tenant.account).order_by("friendly_name", "id")
    context = {"workspaces": workspaces, "form": form if can_manage else None}
    return render(request, "taskrouter/workspaces.html", context)


@portal_view(roles=ROUTING_VIEWER_ROLES)
def board_view(request: HttpRequest, sid: str) -> HttpResponse:
    """The board; the page's websocket (consumers.py) replaces it whenever it changes."""
    workspace = _workspace(request, sid)
    can_manage = _can_manage(request)
    fragment = board_fragment(workspace=workspace, can_manage=can_manage, request=request)
    return render(
        request,
        "taskrouter/board.html",
        {"workspace": workspace, "fragment": fragment, "can_manage": can_manage},
    )


@require_POST
@portal_view(roles=ROUTING_MANAGER_ROLES)
def worker_activity_view(request: HttpRequest, sid: str, worker_sid: str) -> HttpResponse:
    """Move a worker to another activity (through the engine, which records the event and wakes
    routing when the worker becomes available); htmx gets the board back, a plain form the page."""
    workspace = _workspace(request, sid)
    worker = _child(workspace, Worker, worker_sid)
    form = ActivityForm(request.POST, workspace=workspace)
    if not form.is_valid():
        return HttpResponse("Choose one of this workspace's activities.", status=400)
    try:
        actor = request.tenant.actor  # type: ignore[attr-defined]
        worker_update(worker=worker, activity_sid=form.cleaned_data["activity"].sid, actor=actor)
    except TwilioError as refused:  # the activity deleted meanwhile, say; the board is left as it is
        return HttpResponse(refused.message, status=400)
    if getattr(request, "htmx", False):
        return HttpResponse(board_fragment(workspace=workspace, can_manage=True, request=request))
    return redirect("routing-board", sid=workspace.sid)


def _form_page(request: HttpRequest, workspace: Workspace, form: Any, title: str) -> HttpResponse:
    return render(request, "taskrouter/form.html", {"workspace": workspace, "form": form, "title": title})


@portal_view(roles=ROUTING_MANAGER_ROLES)
def worker_form_view(request: HttpRequest, sid: str, worker_sid: str | None = None) -> HttpResponse:
    """A new worker (in the activity chosen) or an existing one's name, contact URI and attributes;
    a refusal (a name taken, say) is shown on the form and nothing is saved."""
    tenant = request.tenant  # type: ignore[attr-defined]
    workspace = _workspace(request, sid)
    worker = _child(workspace, Worker, worker_sid) if worker_sid else None
    form = WorkerForm(request.POST or None, workspace=workspace, worker=worker)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            with transaction.atomic():  # the member link with the rest, or nothing
                if worker is None:
                    activity = data.get("activity")
                    saved = worker_create(
                        workspace=workspace,
                        friendly_name=data["friendly_name"],
                        attributes=form.attributes_text(),
                        activity_sid=activity.sid if activity else None,
                        actor=tenant.actor,
                    )
                else:
                    saved = worker_update(
                        worker=worker,
                        friendly_name=data["friendly_name"],
                        attributes=form.attributes_text(),
                        actor=tenant.actor,
                    )
                worker_member_set(worker=saved, member=data["member"], actor=tenant.actor)
        except TwilioError as error:
            form.add_error(None, error.message)
        else:
            return redirect("routing-board", sid=workspace.sid)
    return _form_page(request, workspace, form, f"Worker {worker.friendly_name}" if worker else "New worker")


@portal_view(roles=ROUTING_MANAGER_ROLES)
def task_queue_form_view(request: HttpRequest, sid: str, queue_sid: str | None = None) -> HttpResponse:
    """A new task queue or an existing one's settings; a bad `target_workers` shows the parser's
    message and nothing is saved. Its workers are matched again when the expression changes."""
    tenant = request.tenant  # type: ignore[attr-defined]
    workspace = _workspace(request, sid)
    queue = _child(workspace, TaskQueue, queue_sid) if queue_sid else None
    initial = {name: getattr(queue, name) for name in TaskQueueForm.base_fields} if queue else None
    form = TaskQueueForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            if queue is None:
                task_queue_create(workspace=workspace, actor=tenant.actor, **form.cleaned_data)
            else:
                changed = {k: v for k, v in form.cleaned_data.items() if getattr(queue, k) != v}
                task_queue_update(queue=queue, actor=tenant.actor, **changed)
        except TwilioError as error:
            form.add_error(None, error.message)
        else:
            return redirect("routing-board", sid=workspace.sid)
    return _form_page(
        request, workspace, form, f"Task queue {queue.friendly_name}" if queue else "New task queue"
    )


@portal_view(roles=ROUTING_MANAGER_ROLES)
def dispositions_view(request: HttpRequest, sid: str) -> HttpResponse:
    """The workspace's wrap-up codes (the agent console's dispositions), one a line."""
    workspace = _workspace(request, sid)
    form = DispositionsForm(request.POST or None, initial={"codes": "\n".join(workspace.disposition_codes)})
    if request.method == "POST" and form.is_valid():
        actor = request.tenant.actor  # type: ignore[attr-defined]
        workspace_update(workspace=workspace, actor=actor, disposition_codes=form.cleaned_data["codes"])
        return redirect("routing-board", sid=workspace.sid)
    return _form_page(request, workspace, form, "Wrap-up codes")
