"""A carrier gateway's journal of submission outcomes: what a carrier answered, kept on local disk
from the moment a connector reports it until PostgreSQL has it.

Without it a gateway killed between a carrier's answer and the writer's transaction resubmits those
messages when it starts again (the at-least-once window, docs/messaging.md); with it, it records
them instead. Lines are appended with plain writes to a file opened O_APPEND: they outlive the
process, not the machine (a disk flush per message would cost more than the window it closes).
"""

import json
import os
from pathlib import Path

from django.conf import settings

from messaging.receipts import SubmitOutcome


class OutcomeJournal:
    @classmethod
    def of_gateway(cls, name: str) -> "OutcomeJournal":
        """The journal of the gateway called `name` on this database (one writer at a time)."""
        return cls(settings.DATA_DIR / "gateway" / f"{settings.DATABASE_ROLES.name}-{name}.journal")

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
        self.is_empty = os.fstat(self._fd).st_size == 0

    def append(self, connector: str, outcome: SubmitOutcome) -> None:
        line: dict[str, object] = {
            "connector": connector,
            "sid": outcome.message_sid,
            "ids": list(outcome.carrier_message_ids),
        }
        if outcome.error_code is not None:
            line |= {"code": outcome.error_code, "detail": outcome.detail}
        os.write(self._fd, (json.dumps(line, separators=(",", ":")) + "\n").encode())
        self.is_empty = False

    def read(self) -> list[tuple[str, SubmitOutcome]]:
        """Every outcome kept, oldest first; a line torn by the crash is passed over."""
        outcomes = []
        for text in self.path.read_text(errors="replace").splitlines():
            try:
                line = json.loads(text)
                outcome = SubmitOutcome(
                    line["sid"], tuple(line["ids"]), line.get("code"), line.get("detail", "")
                )
            except (ValueError, KeyError, TypeError):
                continue
            outcomes.append((str(line["connector"]), outcome))
        return outcomes

    def clear(self) -> None:
        """Forget everything kept: the caller knows PostgreSQL has it all."""
        if not self.is_empty:
            os.ftruncate(self._fd, 0)
            self.is_empty = True

    def close(self) -> None:
        os.close(self._fd)
