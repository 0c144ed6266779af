"""The Calls and Recordings resources, including a call's recordings and a recording's audio."""

from django.http import HttpResponse
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from core.api import TwilioView
from core.filters import date_filters, exact_filters
from core.sids import sid_to_uuid
from voice.api.serializers import CallCreateInput, CallOutput, CallUpdateInput, RecordingOutput
from voice.call_state import call_update
from voice.models import Call, Recording
from voice.outbound import OutboundRequest, call_create
from voice.recordings import recording_audio, recording_delete


class CallViewBase(TwilioView):
    model = Call
    list_key = "calls"
    output_serializer = CallOutput


class CallListView(CallViewBase):
    @extend_schema(operation_id="listCalls", responses=CallOutput(many=True))
    def get(self, request: Request, account_sid: str) -> Response:
        calls = self.scoped()
        params = request.query_params
        calls = calls.filter(
            **exact_filters(request, {"To": "to_number", "From": "from_number", "Status": "status"})
        )
        if params.get("ParentCallSid"):
            calls = calls.filter(parent_call_id=sid_to_uuid(params["ParentCallSid"], "CA"))
        calls = calls.filter(
            **date_filters(request, "StartTime", "start_time"),
            **date_filters(request, "EndTime", "end_time"),
        )
        return self.render_page(request, calls)

    @extend_schema(operation_id="createCall", request=CallCreateInput, responses={201: CallOutput})
    def post(self, request: Request, account_sid: str) -> Response:
        data = self.validated(CallCreateInput, request)
        outbound = OutboundRequest(
            to_number=data["to"],
            from_number=data["from_number"],
            url=data.get("url", ""),
            method=data["method"],
            fallback_url=data.get("fallback_url", ""),
            fallback_method=data["fallback_method"],
            twiml=data.get("twiml", ""),
            status_callback=data.get("status_callback", ""),
            status_callback_method=data["status_callback_method"],
            status_callback_events=list(data.get("status_callback_event") or ["completed"]),
            timeout_seconds=data["timeout"],
            is_recorded=data["record"],
        )
        call = call_create(account=self.tenant.account, actor=self.tenant.actor, request=outbound)
        return self.render_one(call, 201)


class CallDetailView(CallViewBase):
    @extend_schema(operation_id="fetchCall", responses=CallOutput)
    def get(self, request: Request, account_sid: str, sid: str) -> Response:
        return self.render_one(self.get_object(sid))

    @extend_schema(operation_id="updateCall", request=CallUpdateInput, responses=CallOutput)
    def post(self, request: Request, account_sid: str, sid: str) -> Response:
        call = self.get_object(sid)
        data = self.validated(CallUpdateInput, request)
        updated = call_update(
            call=call,
            actor=self.tenant.actor,
            url=data.get("url", ""),
            method=data["method"],
            twiml=data.get("twiml", ""),
            status=data.get("status", ""),
            status_callback=data.get("status_callback"),
        )
        return self.render_one(updated)


class RecordingViewBase(TwilioView):
    model = Recording
    list_key = "recordings"
    output_serializer = RecordingOutput


class RecordingListView(RecordingViewBase):
    @extend_schema(operation_id="listRecordings", responses=RecordingOutput(many=True))
    def get(self, request: Request, account_sid: str, call_sid: str | None = None) -> Response:
        recordings = self.scoped()
        call_filter = call_sid or request.query_params.get("CallSid")
        if call_filter:
            call_id = sid_to_uuid(call_filter, "CA")
            recordings = recordings.filter(call_id=call_id) if call_id else recordings.none()
        recordings = recordings.filter(**date_filters(request, "DateCreated", "date_created"))
        return self.render_page(request, recordings)


class CallRecordingListView(RecordingListView):
    @extend_schema(operation_id="listCallRecordings", responses=RecordingOutput(many=True))
    def get(self, request: Request, account_sid: str, call_sid: str | None = None) -> Response:
        return super().get(request, account_sid, call_sid)


class RecordingDetailView(RecordingViewBase):
    @extend_schema(operation_id="fetchRecording", responses=RecordingOutput)
    def get(self, request: Request, account_sid: str, sid: str) -> Response:
        return self.render_one(self.get_object(sid))

    @extend_schema(operation_id="deleteRecording", responses={204: None})
    def delete(self, request: Request, account_sid: str, sid: str) -> Response:
        recording_delete(recording=self.get_object(sid), actor=self.tenant.actor)
        return Response(status=204)


class RecordingMediaView(RecordingViewBase):
    """The audio itself, decrypted for the owning account only (no extension or `.wav`)."""

    @extend_schema(operation_id="fetchRecordingMedia", responses={(200, "audio/x-wav"): bytes})
    def get(self, request: Request, account_sid: str, sid: str) -> HttpResponse:
        recording = self.get_object(sid)
        audio = recording_audio(recording=recording, actor=self.tenant.actor, action="recording.fetch")
        response = HttpResponse(audio, content_type="audio/x-wav")
        response["Content-Disposition"] = f'inline; filename="{recording.sid}.wav"'
        return response
