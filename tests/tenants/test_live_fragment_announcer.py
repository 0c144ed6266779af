"""Change announcements for live fragments (tenants/live_fragments.py), on a recording channel layer:
sent from the announcer's thread, never from the committing one; changes to a group announced
within the gap after its last announcement go as one at the gap's end (never dropped); groups do not
wait on each other. And the chart geometry the wallboard draws (core/line_chart.py)."""

import asyncio
import threading
import time
from typing import Any

import pytest

from core.line_chart import Series, line_chart, nice_ceiling
from tenants import live_fragments
from tenants.live_fragments import ANNOUNCE_GAP_SECONDS, CHANGED_EVENT, fragment_changed


class RecordingLayer:
    def __init__(self) -> None:
        self.sent: list[tuple[float, str, str]] = []  # (monotonic time, group, thread name)

    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        assert message == {"type": CHANGED_EVENT}
        self.sent.append((time.monotonic(), group, threading.current_thread().name))


@pytest.fixture
def layer(monkeypatch: pytest.MonkeyPatch) -> RecordingLayer:
    recording = RecordingLayer()
    monkeypatch.setattr(live_fragments, "get_channel_layer", lambda: recording)
    monkeypatch.setattr(live_fragments, "_announcer", None)  # a fresh thread, on this layer
    return recording


def _wait_for(layer: RecordingLayer, count: int) -> None:
    deadline = time.monotonic() + 5
    while len(layer.sent) < count and time.monotonic() < deadline:
        time.sleep(0.01)


def test_a_burst_is_announced_at_once_and_again_at_the_end_of_the_gap_never_dropped(
    layer: RecordingLayer,
) -> None:
    started = time.monotonic()
    fragment_changed("board.a")
    _wait_for(layer, 1)
    for _ in range(3):  # inside the gap after the first: one more, at the gap's end
        fragment_changed("board.a")
    fragment_changed("board.b")
    _wait_for(layer, 3)
    time.sleep(ANNOUNCE_GAP_SECONDS * 2)  # nothing more comes

    by_group = {
        g: [at - started for at, group, _ in layer.sent if group == g] for g in ("board.a", "board.b")
    }
    assert len(by_group["board.a"]) == 2 and len(by_group["board.b"]) == 1
    first, last = by_group["board.a"]
    assert first < ANNOUNCE_GAP_SECONDS / 2  # the first at once
    assert last - first >= ANNOUNCE_GAP_SECONDS * 0.95  # the rest of the burst at the gap's end
    assert by_group["board.b"][0] < last  # another group does not wait for a.'s gap
    assert {thread for _, _, thread in layer.sent} == {"fragment-announcer"}


def test_announcing_under_a_running_loop_does_not_block_or_raise(layer: RecordingLayer) -> None:
    async def committing() -> None:  # sync code called where a loop runs (Playwright's sync API)
        fragment_changed("board.c")

    asyncio.run(committing())
    _wait_for(layer, 1)
    assert [group for _, group, _ in layer.sent] == ["board.c"]


def test_a_chart_breaks_its_line_where_a_value_is_missing_and_tops_at_a_round_number() -> None:
    chart = line_chart(
        series=[Series("WQ1", "Support", [1.0, None, 0.5, 0.25])],
        y_max=1.0,
        y_label=lambda v: f"{v:.0%}",
        x_labels=[(0, "10:00"), (3, "10:03")],
    )

    [line] = chart.lines
    assert line.path.count("M") == 2 and line.path.count("L") == 1  # one dot alone, then a segment
    assert len(line.dots) == 3
    assert [tick.label for tick in chart.y_ticks] == ["0%", "50%", "100%"]
    assert [(tick.label, tick.anchor) for tick in chart.x_ticks] == [("10:00", "start"), ("10:03", "end")]
    assert (nice_ceiling(3), nice_ceiling(7), nice_ceiling(501)) == (5, 10, 1000)
