"""A call's Streams (`/2010-04-01/Accounts/{AccountSid}/Calls/{CallSid}/Streams[/{Sid or Name}].json`):
create forks a live call's audio, update with `Status=stopped` stops a stream."""

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from core.api import TwilioView
from streams.api.serializers import StreamCreateInput, StreamOutput, StreamUpdateInput
from streams.models import Stream
from streams.selectors import stream_of_call
from streams.services import stream_create, stream_stop
from voice.models import Call


class StreamViewBase(TwilioView):
    model = Call  # a stream is found through its call, scoped to the request's account
    list_key = "streams"
    output_serializer = StreamOutput


class StreamListView(StreamViewBase):
    @extend_schema(operation_id="createStream", request=StreamCreateInput, responses={201: StreamOutput})
    def post(self, request: Request, account_sid: str, call_sid: str) -> Response:
        call = self.get_object(call_sid)
        data = self.validated(StreamCreateInput, request)
        return self.render_one(stream_create(call=call, **data), 201)


class StreamDetailView(StreamViewBase):
    @extend_schema(operation_id="updateStream", request=StreamUpdateInput, responses=StreamOutput)
    def post(self, request: Request, account_sid: str, call_sid: str, sid: str) -> Response:
        stream = stream_of_call(call=self.get_object(call_sid), sid_or_name=sid, path=request.path)
        self.validated(StreamUpdateInput, request)
        stream_stop(account_id=stream.account_id, stream_id=stream.id, ending=Stream.Ending.STOPPED)
        stream.refresh_from_db()
        return self.render_one(stream)
