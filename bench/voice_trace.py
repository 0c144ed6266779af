"""`manage.py ari_worker` with timers around each step of a call, for `bench/voice --trace`.

Nothing in voice/ changes: this launcher wraps module attributes before the command runs, and writes
what it measured as JSON to $BENCH_TRACE_OUT when the worker exits. The timers cost a few µs each, so
a traced run is a diagnosis, not the measurement: bench/voice reports it apart.

What is timed, per call step:
* each call service the worker runs in a thread: its wall time and the CPU time of that
  thread (time.thread_time), i.e. what the ORM, psycopg and PostgreSQL round trips cost per call;
* the same calls seen from the event loop (the awaited sync_to_async: thread hand-off and queueing
  on the default executor included);
* every ARI REST request (by method and resource) and every webhook fetch, as the event loop awaits them;
* per inbound call, the wall time from StasisStart to the answer request leaving, and its parts.
"""

from __future__ import annotations

import atexit
import functools
import json
import os
import re
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

samples: dict[str, list[float]] = defaultdict(list)  # name -> milliseconds
events: dict[str, int] = defaultdict(int)  # ARI event type -> how many the worker received
STASIS_AT: dict[str, float] = {}  # channel id -> perf_counter at StasisStart


def _keep(name: str, seconds: float) -> None:
    samples[name].append(seconds * 1000)


def _ari_name(method: str, path: str) -> str:
    path = re.sub(r"/channels/[^/]+", "/channels/{id}", path)
    path = re.sub(r"/playbacks/[^/]+", "/playbacks/{id}", path)
    return f"ari {method} {path}"


def install() -> None:
    from mediaserver.ari import client as ari_client
    from voice import call_state, inbound, store, timeline, worker
    from voice.ari_control import AriCallControl
    from voice.interpreter import Interpreter

    # 1. service functions: wall and thread CPU, inside the executor thread
    for module, name in (
        (inbound, "inbound_call_open"),
        (timeline, "call_events_add"),
        (call_state, "call_status_set"),
        (call_state, "call_finish"),
    ):
        original = getattr(module, name)

        @functools.wraps(original)
        def timed(*args: Any, __original: Any = original, __name: str = name, **kwargs: Any) -> Any:
            wall, cpu = time.perf_counter(), time.thread_time()
            try:
                return __original(*args, **kwargs)
            finally:
                _keep(f"db {__name} (wall, in thread)", time.perf_counter() - wall)
                _keep(f"db {__name} (CPU of the thread)", time.thread_time() - cpu)

        setattr(module, name, timed)

    # 2. the same, awaited from the event loop (includes the executor hand-off and any queueing);
    #    the helper has been called `_db` and `db`: wrap whichever the modules have
    for module, attribute in ((worker, "_db"), (worker, "db"), (store, "_db"), (store, "db")):
        original_db = getattr(module, attribute, None)
        if original_db is None:
            continue

        def awaited_db(function: Any, __original_db: Any = original_db) -> Any:
            wrapped = __original_db(function)
            label = getattr(function, "__name__", "?")

            async def run(*args: Any, **kwargs: Any) -> Any:
                started = time.perf_counter()
                try:
                    return await wrapped(*args, **kwargs)
                finally:
                    _keep(f"await {label} (loop view)", time.perf_counter() - started)

            return run

        setattr(module, attribute, awaited_db)

    # 3. ARI REST requests
    original_request = ari_client.AriClient.request

    async def request(self: Any, method: str, path: str, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return await original_request(self, method, path, **kwargs)
        finally:
            _keep(_ari_name(method, path), time.perf_counter() - started)

    ari_client.AriClient.request = request  # type: ignore[method-assign]

    # 4. webhook fetches: the HTTP request alone (absolute URLs: ARI requests use relative paths),
    #    then the interpreter's whole _fetch (HTTP, the timeline write, the TwiML parse)
    import httpx

    original_http_request = httpx.AsyncClient.request

    async def http_request(self: Any, method: str, url: Any, *args: Any, **kwargs: Any) -> Any:
        begun = time.perf_counter()
        try:
            return await original_http_request(self, method, url, *args, **kwargs)
        finally:
            if str(url).startswith("http"):
                _keep("webhook HTTP request (loop view)", time.perf_counter() - begun)

    httpx.AsyncClient.request = http_request  # type: ignore[method-assign]
    original_fetch = Interpreter._fetch

    async def fetch(self: Any, source: Any) -> Any:
        started = time.perf_counter()
        try:
            return await original_fetch(self, source)
        finally:
            _keep("webhook _fetch: HTTP + timeline write + parse", time.perf_counter() - started)

    Interpreter._fetch = fetch  # type: ignore[method-assign]

    # 5. ARI events received, by type
    from mediaserver.ari.router import EventRouter

    original_route = EventRouter.route

    def route(self: Any, event: dict[str, Any]) -> None:
        events[str(event.get("type"))] += 1
        original_route(self, event)

    EventRouter.route = route  # type: ignore[method-assign]

    # 6. StasisStart -> answer request sent / answered, per inbound call
    original_new = worker.VoiceWorker._on_new_channel

    def on_new_channel(self: Any, event: dict[str, Any]) -> None:
        STASIS_AT[event["channel"]["id"]] = time.perf_counter()
        original_new(self, event)

    worker.VoiceWorker._on_new_channel = on_new_channel  # type: ignore[method-assign]

    original_answer = AriCallControl.answer

    async def answer(self: Any) -> None:
        begun = STASIS_AT.pop(self.channel_id, None)
        if begun is not None and not self.is_answered:
            _keep("call: StasisStart -> answer requested", time.perf_counter() - begun)
        await original_answer(self)

    AriCallControl.answer = answer  # type: ignore[method-assign]


def dump() -> None:
    out = os.environ.get("BENCH_TRACE_OUT")
    if not out:
        return

    def pct(values: list[float], p: float) -> float:
        ordered = sorted(values)
        return ordered[max(0, min(len(ordered) - 1, -(-int(p * len(ordered)) // 100) - 1))]

    summary = {
        name: {
            "n": len(values),
            "mean": sum(values) / len(values),
            "p50": pct(values, 50),
            "p95": pct(values, 95),
        }
        for name, values in samples.items()
        if values
    }
    summary["ARI events by type"] = dict(events)  # type: ignore[assignment]
    Path(out).write_text(json.dumps(summary, indent=2))


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    install()
    atexit.register(dump)
    from django.core.management import call_command

    args = sys.argv[1:]
    call_command(*(args if args[:1] == ["ari_worker"] else ["ari_worker", *args]))


if __name__ == "__main__":
    main()
