"""Be the demo's receptionist: sipp answers calls at Reception's SIP address until stopped.

The demo's worker "Reception" has `contact_uri` sip:reception@127.0.0.1:5062 (contactcenter/demo.py);
when a caller presses 4 in the demo IVR (`scripts/call-demo 4`) and Reception is Available, the
workflow's `dequeue` dials it here: sipp rings, answers and holds the line until the caller hangs up.
"""

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.voice import sipp  # noqa: E402

PORT = 5062  # RECEPTION_SIP's port; scripts/run admits it in SWITCHBOARD_EGRESS_ALLOW


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1, help="answer this many calls, then stop")
    parser.add_argument("--minutes", type=float, default=10, help="stop after this long in any case")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        run = sipp.start_uas(PORT, workdir=Path(workdir), calls=args.calls, timeout_s=args.minutes * 60)
        print(f"Reception's phone answers at sip:reception@127.0.0.1:{PORT} (Ctrl-C to stop)", flush=True)
        try:
            result = run.wait()
        except KeyboardInterrupt:
            run.stop()
            return 130
    print(f"answered {result.successful_calls} call(s)" if result.ok else f"failed:\n{result.explain()}")
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
