"""`/ai/v1/Agents[/{Sid}]` and `/ai/v1/Agents/{Sid}/FaqEntries[/{Sid}]`: thin views over ai/services."""

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from ai import services
from ai.api.serializers import (
    AgentCreateInput,
    AgentOutput,
    AgentUpdateInput,
    FaqEntryCreateInput,
    FaqEntryOutput,
)
from ai.models import Agent, FaqEntry
from core.errors import not_found
from core.sids import row_by_sid
from core.v1 import V1View


class AgentViewBase(V1View):
    model = Agent
    list_key = "agents"
    output_serializer = AgentOutput


class AgentListView(AgentViewBase):
    @extend_schema(operation_id="listAgents", responses=AgentOutput(many=True))
    def get(self, request: Request) -> Response:
        return self.render_page(request, self.scoped())

    @extend_schema(operation_id="createAgent", request=AgentCreateInput, responses={201: AgentOutput})
    def post(self, request: Request) -> Response:
        data = self.validated(AgentCreateInput, request)
        agent = services.agent_create(account=self.tenant.account, actor=self.tenant.actor, **data)
        return self.render_one(agent, status=201)


class AgentDetailView(AgentViewBase):
    @extend_schema(operation_id="fetchAgent", responses=AgentOutput)
    def get(self, request: Request, sid: str) -> Response:
        return self.render_one(self.get_object(sid))

    @extend_schema(operation_id="updateAgent", request=AgentUpdateInput, responses=AgentOutput)
    def post(self, request: Request, sid: str) -> Response:
        agent = self.get_object(sid)
        changes = self.validated(AgentUpdateInput, request)
        return self.render_one(services.agent_update(agent=agent, actor=self.tenant.actor, **changes))

    @extend_schema(operation_id="deleteAgent", responses={204: None})
    def delete(self, request: Request, sid: str) -> Response:
        services.agent_delete(agent=self.get_object(sid), actor=self.tenant.actor)
        return Response(status=204)


class FaqEntryViewBase(V1View):
    model = FaqEntry
    list_key = "faq_entries"
    output_serializer = FaqEntryOutput
    agent: Agent

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        found = row_by_sid(Agent.objects.for_account(self.tenant.account), kwargs["agent_sid"])
        if found is None:
            raise not_found(request.path)
        self.agent = found

    def scoped(self) -> QuerySet:
        return super().scoped().filter(agent=self.agent).select_related("agent")


class FaqEntryListView(FaqEntryViewBase):
    @extend_schema(operation_id="listFaqEntries", responses=FaqEntryOutput(many=True))
    def get(self, request: Request, agent_sid: str) -> Response:
        return self.render_page(request, self.scoped())

    @extend_schema(
        operation_id="createFaqEntry", request=FaqEntryCreateInput, responses={201: FaqEntryOutput}
    )
    def post(self, request: Request, agent_sid: str) -> Response:
        data = self.validated(FaqEntryCreateInput, request)
        entry = services.faq_entry_create(agent=self.agent, actor=self.tenant.actor, **data)
        return self.render_one(entry, status=201)


class FaqEntryDetailView(FaqEntryViewBase):
    @extend_schema(operation_id="fetchFaqEntry", responses=FaqEntryOutput)
    def get(self, request: Request, agent_sid: str, sid: str) -> Response:
        return self.render_one(self.get_object(sid))

    @extend_schema(operation_id="deleteFaqEntry", responses={204: None})
    def delete(self, request: Request, agent_sid: str, sid: str) -> Response:
        services.faq_entry_delete(entry=self.get_object(sid), actor=self.tenant.actor)
        return Response(status=204)
