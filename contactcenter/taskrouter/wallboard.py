"""The supervisor's wallboard, read with the routing board (board.py): each queue's last hour
(answered, abandoned, service level) and two charts of that hour minute by minute (tasks waiting,
service level), from the workspace's event log, anchored on the live tables for what waits now.

Why the event log rather than a table of samples: every change the charts show is already written
there, in the transaction making it, by whichever process makes it (API, routing process, ARI
worker). So the past hour exists even when nobody was watching, nothing samples on a timer, and one
grouped query over the log's (workspace, date) index reads it.

The numbers (docs/contactcenter.md, "Wallboard"):
- answered: reservations accepted; within N seconds when the task had waited less (its TaskAge at
  acceptance, counted from its creation, so a callback keeps its age); N is the queue's
  `service_level_seconds`, 20 unless set.
- abandoned: tasks canceled while waiting (the caller hung up, the TTL ran out, a client canceled).
- service level: answered within N over answered plus abandoned (Twilio's split_by_wait_time counts
  both sides); none when neither happened.
- waiting at the end of each minute: the tasks waiting now, less those that entered the queue since,
  plus those that left it since (accepted, canceled, or timed out to the workflow's next target).
"""

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from contactcenter.taskrouter.models import TaskQueue, Workspace
from contactcenter.taskrouter.statistics import task_queues_by_minute
from core.line_chart import LineChart, Series, line_chart, nice_ceiling

MINUTES = 60
CHART_QUEUES = 6  # lines one chart can still tell apart; the table lists every queue
ENTERED = "task-queue.entered"
ACCEPTED = "reservation.accepted"
CANCELED = "task.canceled"
LEFT = (ACCEPTED, CANCELED, "task-queue.timeout")


@dataclass(frozen=True)
class QueueHour:
    """One queue's outcomes over the wallboard's hour."""

    service_level_seconds: int
    answered: int = 0
    answered_within: int = 0
    abandoned: int = 0

    @property
    def service_level(self) -> float | None:
        """A fraction of 1; None while nothing was answered or abandoned."""
        handled = self.answered + self.abandoned
        return self.answered_within / handled if handled else None

    @property
    def service_level_percent(self) -> int | None:
        level = self.service_level
        return None if level is None else round(level * 100)


@dataclass(frozen=True)
class Wallboard:
    start: datetime  # the first minute charted
    hours: dict[uuid.UUID, QueueHour]  # by queue id
    waiting: list[Series]  # per charted queue, each minute: tasks waiting at its end
    service_level: list[Series]  # per charted queue, each minute: its service level (None: no outcome)
    waiting_chart: LineChart
    service_level_chart: LineChart
    charted_queues: int


def _count(rows: Mapping[str, Mapping[str, int]], event_type: str, column: str = "n") -> int:
    return int(rows.get(event_type, {}).get(column, 0))


def _percent(value: float) -> str:
    return f"{value * 100:.0f}%"


def _whole(value: float) -> str:
    """A count on the waiting chart's axis. Its middle tick is half the top, 0.5 when the top is 1 (a
    quiet hour) or 2.5 when it is 5: rounded, the axis read 0, 0, 1 or 0, 2, 5."""
    return f"{value:g}"


def wallboard_read(
    *, workspace: Workspace, queues: Sequence[TaskQueue], waiting: Mapping[uuid.UUID, int], now: datetime
) -> Wallboard:
    """The hour up to `now` for `queues`, whose tasks waiting now are `waiting` (by queue id): one
    query of the event log, whatever the number of queues, tasks and events."""
    start = now.replace(second=0, microsecond=0) - timedelta(minutes=MINUTES - 1)
    minutes = [start + timedelta(minutes=i) for i in range(MINUTES)]
    splits = sorted({queue.service_level_seconds for queue in queues})
    rows = task_queues_by_minute(
        workspace=workspace,
        queues=queues,
        start=start,
        end=now,
        event_types=(ENTERED, *LEFT),
        splits=splits,
    )
    hours: dict[uuid.UUID, QueueHour] = {}
    waiting_series: list[Series] = []
    level_series: list[Series] = []
    for queue in queues:
        within = f"below_{queue.service_level_seconds}"
        answered: list[int] = []
        answered_within: list[int] = []
        abandoned: list[int] = []
        net: list[int] = []
        for minute in minutes:
            found = rows.get((queue.id, minute), {})
            answered.append(_count(found, ACCEPTED))
            answered_within.append(_count(found, ACCEPTED, within))
            abandoned.append(_count(found, CANCELED))
            net.append(_count(found, ENTERED) - sum(_count(found, left) for left in LEFT))
        hours[queue.id] = QueueHour(
            service_level_seconds=queue.service_level_seconds,
            answered=sum(answered),
            answered_within=sum(answered_within),
            abandoned=sum(abandoned),
        )
        if len(waiting_series) == CHART_QUEUES:
            continue
        # Walk back from now: before each minute's changes, what waited was now's less what came since.
        level: list[float | None] = []
        backlog, waited = waiting.get(queue.id, 0), []
        for i in reversed(range(MINUTES)):
            waited.append(max(backlog, 0))
            backlog -= net[i]
        for done, fast, gave_up in zip(answered, answered_within, abandoned, strict=True):
            level.append(fast / (done + gave_up) if done + gave_up else None)
        waiting_series.append(Series(queue.sid, queue.friendly_name, waited[::-1]))
        level_series.append(Series(queue.sid, queue.friendly_name, level))
    top = nice_ceiling(max((v or 0 for s in waiting_series for v in s.values), default=0) or 1)
    x_labels = [(i, minutes[i].strftime("%H:%M")) for i in (0, MINUTES // 2, MINUTES - 1)]
    return Wallboard(
        start=start,
        hours=hours,
        waiting=waiting_series,
        service_level=level_series,
        waiting_chart=line_chart(series=waiting_series, y_max=top, y_label=_whole, x_labels=x_labels),
        service_level_chart=line_chart(series=level_series, y_max=1.0, y_label=_percent, x_labels=x_labels),
        charted_queues=len(waiting_series),
    )
