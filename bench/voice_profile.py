"""Read a py-spy `record --gil -f raw` file of the ARI worker and say where its CPU went.

Each line of the file is a collapsed stack (outermost frame first, `;`-separated) and a sample count.
With --gil py-spy samples only the thread holding the GIL, so the counts are the worker's Python CPU.
Every sample goes to the first category below whose test matches its stack.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

CATEGORIES: list[tuple[str, tuple[str, ...]]] = [
    # sync services run by sync_to_async in the default executor's threads: Django ORM + psycopg
    (
        "DB: voice's call services in executor threads (ORM, psycopg)",
        ("SyncToAsync.thread_handler", "_WorkItem.run"),
    ),
    ("DB: executor thread hand-off", ("Thread._bootstrap",)),
    ("event loop: ARI REST requests (httpx)", ("AriClient.request",)),
    ("event loop: webhook and media fetches (httpx)", ("AsyncClient.request", "AsyncClient.send")),
    ("event loop: awaiting sync_to_async (submit, futures)", ("SyncToAsync.__call__", "run_in_executor")),
    ("event loop: ARI events websocket (frames, JSON, routing)", ("websockets/", "run_events")),
    ("event loop: TwiML parse", ("twiml/",)),
    ("event loop: webhook signing", ("core/webhooks", "core/documents")),
    (
        "event loop: interpreter and call control",
        (
            "voice/interpreter",
            "voice/verbs",
            "messaging/verbs",
            "voice/store",
            "voice/ari_control",
            "voice/worker",
        ),
    ),
    ("event loop: asyncio scheduling", ("asyncio/", "selectors")),
]


def categorize(raw: Path) -> tuple[int, list[tuple[str, int]], list[tuple[str, int]]]:
    """(total samples, samples per category, the most sampled innermost frames)."""
    total = 0
    categories: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count = line.rstrip().rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        total += n
        for name, needles in CATEGORIES:
            if any(needle in stack for needle in needles):
                categories[name] += n
                break
        else:
            categories["other (stack cut short by py-spy)"] += n
        leaves[re.sub(r":\d+\)", ")", stack.split(";")[-1])] += n
    return total, categories.most_common(), leaves.most_common(12)


def summary(raw: Path, calls: int, worker_cpu_s: float) -> list[str]:
    total, categories, leaves = categorize(raw)
    if not total:
        return [f"(no samples in {raw})"]
    ms_per_call = worker_cpu_s * 1000 / calls if calls else float("nan")
    lines = [
        f"py-spy --gil, {total} samples at 100 Hz ({raw.name}); worker CPU {ms_per_call:.1f} ms per call:",
        "",
        "| where the worker's Python CPU went | share | ≈ ms per call |",
        "|---|---:|---:|",
    ]
    lines += [f"| {name} | {n / total:.0%} | {ms_per_call * n / total:.1f} |" for name, n in categories]
    lines += ["", "Innermost frames sampled most: " + "; ".join(f"{name} {n}" for name, n in leaves[:8])]
    return lines
