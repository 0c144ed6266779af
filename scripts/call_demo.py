"""Place a SIP call with sipp to the demo IVR on a running platform, pressing keys like a caller.

`scripts/call-demo 1` asks for the time; `scripts/call-demo 2` (the default) leaves a three-second
message that then appears under Recordings in the API and on the portal's Calls page;
`scripts/call-demo 3` asks for the address by text, which the sandbox carrier receives and the
portal's Inbox shows in the caller's thread, next to the call; `scripts/call-demo 4` asks for the
front desk: the caller waits on hold music until the demo's receptionist (`scripts/agent-demo`)
answers, talks, and the caller hangs up after `--seconds` (25); `scripts/call-demo agent` calls the
clinic's AI assistant (+1 202 555 0101), asks its opening hours and then for a person, in speech
espeak-ng makes: the assistant answers, then hands the caller to the front desk with a summary.
"""

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.ai.speech import speech_pcap  # noqa: E402
from tests.voice import sipp  # noqa: E402
from tests.voice.dtmf import script_pcap  # noqa: E402

DEMO_NUMBER = "+12025550100"
DEMO_AGENT_NUMBER = "+12025550101"  # ai/demo.py
CALLER = "+14155550199"  # a number a text can go back to
WHERE_TO_LOOK = {  # what the call left behind, on the portal (scripts/run prints its address)
    "1": "the call and its timeline: Calls",
    "2": "the message: Calls (the call's recording) and Recordings in the API",
    "3": "the text with the address: Inbox, in the caller's thread beside the call",
    "4": "the task and the caller's wait: Routing and Queues; the call: Calls",
    "agent": "the assistant's turns and its hand-off: Inbox (the caller's thread) and Routing",
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("choice", nargs="?", default="2", choices=["1", "2", "3", "4", "agent"])
    parser.add_argument("--sip", default="127.0.0.1:5060", help="where inbound calls enter (host:port)")
    parser.add_argument("--seconds", type=int, default=25, help="with 4 or agent: seconds on the line")
    args = parser.parse_args()
    number, hangup_after_ms = DEMO_NUMBER, None
    if args.choice == "agent":  # after the greeting: a question, its answer, then a person asked for
        number, hangup_after_ms = DEMO_AGENT_NUMBER, args.seconds * 1000
        pcap = speech_pcap(
            ("wait", 6000), ("say", "What are your opening hours?"), ("wait", 6000),
            ("say", "I want to talk to a person"), ("wait", 8000),
        )  # fmt: skip
    elif args.choice == "4":  # the platform never hangs up on a caller who is bridged: the caller does
        pcap = script_pcap(("wait", 2000), ("press", "4"), ("wait", 1000))
        hangup_after_ms = args.seconds * 1000
    elif args.choice in ("1", "3"):
        pcap = script_pcap(("wait", 2000), ("press", args.choice), ("wait", 14000))
    else:  # press 2 in the greeting, then speak (a tone) after the prompt and beep, then go quiet
        pcap = script_pcap(("wait", 2000), ("press", "2"), ("wait", 6500), ("talk", 3000), ("wait", 5000))
    with tempfile.TemporaryDirectory() as workdir:
        result = sipp.run_uac(
            args.sip,
            number,
            workdir=Path(workdir),
            pcap=pcap,
            caller=CALLER,
            hangup_after_ms=hangup_after_ms,
            timeout_s=60 + args.seconds,
        )
    if not result.ok:
        print(f"call failed:\n{result.explain()}")
        return 1
    print(f"call from {CALLER} to {number} completed; see {WHERE_TO_LOOK[args.choice]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
