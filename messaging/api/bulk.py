"""The native bulk alerts API under /api/v1/: create a bulk (a JSON list or a CSV file of up to
100,000 recipients), list and fetch bulks with their counts, page through a bulk's recipients, cancel.

Same credentials, tenancy, throttling and error bodies as the rest of the native API (the views
derive from core/native.py's `NativeView`); snake_case JSON, ISO 8601 times, keyset paging by `cursor`.
"""

import json
from datetime import datetime
from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from core.api import account_path
from core.error_codes import ErrorCode
from core.errors import TwilioError, not_found
from core.native import PAGING, NativeView, PageOutput, iso
from core.parsers import unstorable
from core.sids import make_sid
from messaging.bulk.input import recipients_from_csv
from messaging.bulk.selectors import PROGRESS_COUNTS, bulk_get, bulk_list, bulk_recipient_list
from messaging.bulk.services import bulk_cancel, bulk_create
from messaging.models import Bulk, Message

API_ROOT = "/api/v1/bulks"
TAGS = ["Bulk alerts"]
# What the bulk was given and set aside, then its messages by status (what its progress shows).
COUNTS = ("num_requested", "num_duplicates", "num_invalid", "num_opted_out", *PROGRESS_COUNTS)


def _iso(value: datetime | None) -> str | None:
    return iso(value) if value else None


class LargeJSONParser(BaseParser):
    """JSON read from the request stream. DRF's JSONParser goes through `request.body`, which Django
    caps at DATA_UPLOAD_MAX_MEMORY_SIZE (64 KiB); the API guard has already held this route's body to
    its own limit (settings.API_BODY_LIMITS) by its Content-Length."""

    media_type = "application/json"

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        if stream is None:
            return {}
        try:
            return json.loads(stream.read().decode("utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise ParseError(f"JSON parse error - {exc}") from exc


class RecipientList(serializers.ListField):
    """A JSON array of strings, checked in one pass (DRF's per-item fields take a second for 100,000)."""

    def to_internal_value(self, data: Any) -> list[str]:
        if not isinstance(data, list) or not all(isinstance(item, str) for item in data):
            raise serializers.ValidationError("must be a list of phone numbers as strings")
        # The checks the skipped CharFields would make: a NUL cannot be stored, not even as invalid.
        if problem := next(filter(None, map(unstorable, data)), None):
            raise serializers.ValidationError(f"a recipient {problem}")
        return data


class BulkCreateInput(serializers.Serializer):
    from_number = serializers.CharField(help_text="One of the account's numbers, in E.164.")
    body = serializers.CharField(
        allow_blank=True, trim_whitespace=False, help_text="At most 1,600 characters."
    )
    message_class = serializers.ChoiceField(
        choices=Bulk.MessageClass.choices,
        help_text="emergency (health or safety: needs threat_basis), school-mission or marketing. "
        "Required, with no default: an alert sent without prior consent is always asked for by name.",
    )
    threat_basis = serializers.CharField(
        required=False,
        default="",
        allow_blank=True,
        help_text="The articulable and significant threat an emergency alert answers (FERPA 99.32); audited.",
    )
    recipients = RecipientList(
        child=serializers.CharField(),
        required=False,
        help_text=f"Up to {Bulk.MAX_RECIPIENTS:,} numbers in E.164; duplicates, invalid and opted-out "
        "numbers are counted, not sent.",
    )
    recipients_file = serializers.FileField(
        required=False,
        help_text="Instead of `recipients` (multipart/form-data): a CSV file, numbers in the column headed "
        "phone, number, mobile, to or recipient, else in the first column.",
    )


class BulkOutput(serializers.Serializer):
    sid = serializers.CharField()
    account_sid = serializers.CharField()
    from_number = serializers.CharField()
    body = serializers.CharField()
    encoding = serializers.CharField()
    num_segments = serializers.IntegerField()
    message_class = serializers.ChoiceField(choices=Bulk.MessageClass.choices)
    threat_basis = serializers.CharField()
    status = serializers.ChoiceField(
        choices=Bulk.Status.choices,
        help_text="completed once no message is queued or sending; receipts may still move counts after.",
    )
    created_by = serializers.CharField()
    num_requested = serializers.IntegerField(help_text="Recipients as given.")
    num_duplicates = serializers.IntegerField()
    num_invalid = serializers.IntegerField()
    num_opted_out = serializers.IntegerField()
    num_messages = serializers.IntegerField(help_text="Messages created: one per recipient kept.")
    num_queued = serializers.IntegerField(
        help_text="Not answered by the carrier yet: queued, or claimed by a gateway and being sent."
    )
    num_sent = serializers.IntegerField()
    num_delivered = serializers.IntegerField()
    num_undelivered = serializers.IntegerField()
    num_failed = serializers.IntegerField()
    num_canceled = serializers.IntegerField()
    date_created = serializers.DateTimeField()
    date_updated = serializers.DateTimeField()
    completed_at = serializers.DateTimeField(allow_null=True)
    canceled_at = serializers.DateTimeField(allow_null=True)
    url = serializers.CharField()
    recipients_url = serializers.CharField()

    def to_representation(self, instance: Bulk) -> dict[str, Any]:
        url = f"{API_ROOT}/{instance.sid}"
        return {
            "sid": instance.sid,
            "account_sid": make_sid("AC", instance.account_id),
            "from_number": instance.from_number,
            "body": instance.body,
            "encoding": instance.encoding,
            "num_segments": instance.num_segments,
            "message_class": instance.message_class,
            "threat_basis": instance.threat_basis,
            "status": instance.status,
            "created_by": instance.created_by,
            **{name: getattr(instance, name) for name in COUNTS},
            "date_created": iso(instance.date_created),
            "date_updated": iso(instance.date_updated),
            "completed_at": _iso(instance.completed_at),
            "canceled_at": _iso(instance.canceled_at),
            "url": url,
            "recipients_url": f"{url}/recipients",
        }


class BulkDetailOutput(BulkOutput):
    invalid_recipients = serializers.ListField(child=serializers.CharField(), help_text="As given.")
    opted_out_recipients = serializers.ListField(child=serializers.CharField())

    def to_representation(self, instance: Bulk) -> dict[str, Any]:
        return {
            **super().to_representation(instance),
            "invalid_recipients": instance.invalid_recipients,
            "opted_out_recipients": instance.opted_out_recipients,
        }


class RecipientOutput(serializers.Serializer):
    """One recipient's message: its final status once the carrier answered (and the receipt came)."""

    message_sid = serializers.CharField()
    to_number = serializers.CharField()
    status = serializers.CharField()
    error_code = serializers.IntegerField(allow_null=True)
    error_message = serializers.CharField()
    date_sent = serializers.DateTimeField(allow_null=True)
    date_updated = serializers.DateTimeField()
    uri = serializers.CharField(help_text="The message in the Twilio-compatible API.")

    def to_representation(self, instance: Message) -> dict[str, Any]:
        return {
            "message_sid": instance.sid,
            "to_number": instance.to_number,
            "status": instance.status,
            "error_code": instance.error_code,
            "error_message": instance.error_message,
            "date_sent": _iso(instance.date_sent),
            "date_updated": iso(instance.date_updated),
            "uri": f"{account_path(make_sid('AC', instance.account_id))}/Messages/{instance.sid}.json",
        }


class BulkPageOutput(PageOutput):
    bulks = BulkOutput(many=True)


class RecipientPageOutput(PageOutput):
    recipients = RecipientOutput(many=True)


class BulkView(NativeView):
    model = Bulk
    parser_classes = [LargeJSONParser, MultiPartParser]

    def bulk(self, sid: str) -> Bulk:
        found = bulk_get(account=self.tenant.account, sid=sid)
        if found is None:
            raise not_found(self.request.path)
        return found


class BulkListView(BulkView):
    @extend_schema(
        operation_id="createBulk",
        tags=TAGS,
        summary="Send one message to up to 100,000 recipients",
        description="JSON with `recipients`, or multipart/form-data with `recipients_file` (CSV). An "
        "`Idempotency-Key` header makes a retry return the bulk the first request made.",
        request={"application/json": BulkCreateInput, "multipart/form-data": BulkCreateInput},
        parameters=[OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER)],
        responses={201: BulkDetailOutput},
    )
    def post(self, request: Request) -> Response:
        data = self.validated_native(BulkCreateInput)
        upload = data.get("recipients_file")
        if upload is not None and "recipients" in data:
            raise TwilioError(
                ErrorCode.INVALID_PARAMETER, "Give recipients or recipients_file, not both", 400
            )
        recipients = recipients_from_csv(upload.read()) if upload is not None else data.get("recipients", [])
        bulk = bulk_create(
            account=self.tenant.account,
            from_=data["from_number"],
            body=data["body"],
            recipients=recipients,
            message_class=data["message_class"],
            threat_basis=data["threat_basis"],
            actor=self.tenant.actor,
            idempotency_key=request.headers.get("Idempotency-Key", "")[:255],
        )
        return Response(BulkDetailOutput(bulk).data, status=201)

    @extend_schema(
        operation_id="listBulks",
        tags=TAGS,
        summary="The account's bulks, newest first, with their counts",
        parameters=PAGING,
        responses=BulkPageOutput,
    )
    def get(self, request: Request) -> Response:
        return self.render_cursor_page(
            "bulks",
            lambda cursor, size: bulk_list(account=self.tenant.account, after=cursor, size=size),
            BulkOutput,
        )


class BulkDetailView(BulkView):
    @extend_schema(
        operation_id="fetchBulk",
        tags=TAGS,
        summary="A bulk's progress: counts by status, and the recipients set aside",
        responses=BulkDetailOutput,
    )
    def get(self, request: Request, sid: str) -> Response:
        return Response(BulkDetailOutput(self.bulk(sid)).data)


class BulkRecipientListView(BulkView):
    @extend_schema(
        operation_id="listBulkRecipients",
        tags=TAGS,
        summary="Each recipient's message and status, in number order",
        parameters=[
            OpenApiParameter("status", str, description="Only recipients whose message has this status."),
            *PAGING,
        ],
        responses=RecipientPageOutput,
    )
    def get(self, request: Request, sid: str) -> Response:
        bulk = self.bulk(sid)
        status = request.query_params.get("status") or None
        if status is not None and status not in Message.Status.values:
            raise TwilioError(ErrorCode.INVALID_PARAMETER, f"Invalid parameter status: {status}", 400)
        return self.render_cursor_page(
            "recipients",
            lambda cursor, size: bulk_recipient_list(bulk=bulk, status=status, after=cursor, size=size),
            RecipientOutput,
        )


class BulkCancelView(BulkView):
    @extend_schema(
        operation_id="cancelBulk",
        tags=TAGS,
        summary="Cancel the messages no carrier gateway has claimed yet",
        request=None,
        responses=BulkDetailOutput,
    )
    def post(self, request: Request, sid: str) -> Response:
        bulk = bulk_cancel(bulk=self.bulk(sid), actor=self.tenant.actor)
        return Response(BulkDetailOutput(bulk).data)
