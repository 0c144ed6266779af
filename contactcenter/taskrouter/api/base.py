"""The base of every TaskRouter view: the workspace in the URL must be the tenant's, and every row a
view reads is that workspace's (another tenant's workspace, or a row of another workspace, is 20404)."""

from typing import Any

from django.db.models import QuerySet
from rest_framework.request import Request

from contactcenter.taskrouter.models import Workspace
from core.errors import not_found
from core.sids import sid_to_uuid
from core.v1 import V1View


class WorkspaceView(V1View):
    """A resource inside `/Workspaces/{workspace_sid}/`; `self.workspace` is found before any handler runs."""

    workspace: Workspace

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        pk = sid_to_uuid(kwargs["workspace_sid"], Workspace.SID_PREFIX)
        found = Workspace.objects.for_account(self.tenant.account).filter(id=pk).first() if pk else None
        if found is None:
            raise not_found(request.path)
        self.workspace = found

    def scoped(self) -> QuerySet:
        return super().scoped().filter(workspace=self.workspace)

    def child(self, model: Any, sid: str) -> Any:
        """A row of `model` in this workspace by its SID (a worker, a task, a queue); 20404 otherwise."""
        pk = sid_to_uuid(sid, model.SID_PREFIX)
        found = model.objects.filter(workspace=self.workspace, id=pk).first() if pk else None
        if found is None:
            raise not_found(self.request.path)
        return found
