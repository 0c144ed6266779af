"""Input and output shapes of the Queues resource and its Members."""

from typing import Any

from rest_framework import serializers

from contactcenter.models import MAX_MAX_SIZE, Queue, QueueMember
from contactcenter.selectors import average_wait_seconds, wait_seconds
from core.api import RFC2822Field, SidField, account_path
from core.fields import CallbackUrlField, HttpMethodField
from core.sids import make_sid


class QueueCreateInput(serializers.Serializer):
    friendly_name = serializers.CharField(max_length=64)
    max_size = serializers.IntegerField(min_value=1, max_value=MAX_MAX_SIZE, required=False)


class QueueUpdateInput(serializers.Serializer):
    friendly_name = serializers.CharField(max_length=64, required=False)
    max_size = serializers.IntegerField(min_value=1, max_value=MAX_MAX_SIZE, required=False)


class MemberDequeueInput(serializers.Serializer):
    url = CallbackUrlField(required=True, allow_blank=False)
    method = HttpMethodField(default="POST")


def _queue_uri(account_id: Any, queue_id: Any) -> str:
    return f"{account_path(make_sid('AC', account_id))}/Queues/{make_sid('QU', queue_id)}"


class QueueOutput(serializers.ModelSerializer):
    """A queue read through `selectors.queues_with_stats`, which derives its size and wait."""

    account_sid = SidField("AC", source="account_id")
    current_size = serializers.IntegerField()
    average_wait_time = serializers.SerializerMethodField()
    date_created = RFC2822Field()
    date_updated = RFC2822Field()
    uri = serializers.SerializerMethodField()

    class Meta:
        model = Queue
        fields = [
            "sid",
            "account_sid",
            "friendly_name",
            "current_size",
            "max_size",
            "average_wait_time",
            "date_created",
            "date_updated",
            "uri",
        ]

    def get_average_wait_time(self, obj: Queue) -> int:
        return average_wait_seconds(obj)

    def get_uri(self, obj: Queue) -> str:
        return f"{_queue_uri(obj.account_id, obj.id)}.json"


class MemberOutput(serializers.ModelSerializer):
    """A waiting member read through `selectors.waiting_members`, which numbers its position."""

    call_sid = SidField("CA", source="call_id")
    queue_sid = SidField("QU", source="queue_id")
    position = serializers.IntegerField()
    wait_time = serializers.SerializerMethodField()
    date_enqueued = RFC2822Field(source="date_created")
    uri = serializers.SerializerMethodField()

    class Meta:
        model = QueueMember
        fields = ["call_sid", "queue_sid", "position", "wait_time", "date_enqueued", "uri"]

    def get_wait_time(self, obj: QueueMember) -> int:
        return wait_seconds(obj)

    def get_uri(self, obj: QueueMember) -> str:
        return f"{_queue_uri(obj.account_id, obj.queue_id)}/Members/{make_sid('CA', obj.call_id)}.json"
