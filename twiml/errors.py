"""Twilio's TwiML error and warning codes, the exception that stops a document and the warning that doesn't.

Twilio reports these codes through its debugger (Notifications), most 13xxx/14xxx codes at level
WARNING: it logs the code and runs the verb with the attribute's default. Switchboard promises that
Twilio apps run unchanged, so it does the same. The rule, element by element:

- An invalid value of a known attribute that has a default (`<Gather timeout="abc">`, `<Dial
  timeout="3">`, `<Say loop="-1">`, `<Record maxLength="0">`, a bad `method`) is a `TwimlWarning` with
  the attribute's own code; its message names the attribute, the bad value and the default used, and
  the verb runs with that default, exactly as if the attribute were absent.
- What cannot run at all raises `TwimlError`: document-level failures, a known element where it cannot
  be, a required text or attribute missing, and an invalid value with no sensible default: an element's
  text (what to say, dial, enqueue or send) and the few attributes that are the verb's content or
  addressee (`schema.spec(strict=...)`): Play `digits`, Stream `url`, Sms/Message `to` and `from`.

Which attribute warns with which code is said once, in `twiml.schema`'s specs; the codes are `Code`.
A `TwimlError` is logged as a Notification at level ERROR and ends the call (or sends no reply); a
`TwimlWarning` is logged at level WARNING.
"""

from dataclasses import dataclass
from enum import IntEnum


class Code(IntEnum):
    """Every code this library raises or warns with."""

    RESPONSE_TOO_LARGE = 11750  # over 64 KiB (65,536 bytes of UTF-8)
    PARSE_FAILURE = 12100  # not well-formed XML, not UTF-8, empty, or with a DOCTYPE or ENTITY
    ROOT_NOT_RESPONSE = 12102
    SCHEMA = 12200  # an element, attribute or text where it cannot be, or missing; unknown ones warn
    CONFERENCE_MIXED = 13000
    DIAL_METHOD = 13210
    DIAL_TIMEOUT = 13212
    DIAL_HANGUP_ON_STAR = 13213
    DIAL_CALLER_ID = 13214
    DIAL_NESTED = 13215  # a verb inside Dial, nothing to dial, or nouns that cannot go together
    DIAL_TIME_LIMIT = 13216
    DIAL_RECORD = 13217
    DIAL_SEQUENTIAL = 13218
    DIAL_ANSWER_ON_BRIDGE = 13219
    DIAL_RING_TONE = 13220
    NUMBER_METHOD = 13221
    NUMBER_SEND_DIGITS = 13222
    NUMBER_FORMAT = 13223
    CONFERENCE_MUTED = 13230
    CONFERENCE_END_ON_EXIT = 13231
    CONFERENCE_START_ON_ENTER = 13232
    CONFERENCE_WAIT_METHOD = 13234
    CONFERENCE_BEEP = 13235
    CONFERENCE_NAME = 13237
    CONFERENCE_TRIM = 13239
    SIP_METHOD = 13241
    SIP_URI = 13243
    GATHER_FINISH_ON_KEY = 13310
    GATHER_METHOD = 13312
    GATHER_TIMEOUT = 13313
    GATHER_NUM_DIGITS = 13314
    GATHER_NESTED = 13320
    GATHER_SAY_VOICE = 13321
    GATHER_SAY_LOOP = 13322
    GATHER_INPUT = 13326
    GATHER_SPEECH_TIMEOUT = 13327
    GATHER_MAX_SPEECH_TIME = 13328
    GATHER_PARTIAL_RESULT_METHOD = 13329
    GATHER_LANGUAGE = 13331
    GATHER_BARGE_IN = 13332
    GATHER_PROFANITY_FILTER = 13333
    GATHER_ACTION_ON_EMPTY_RESULT = 13338
    PLAY_LOOP = 13410
    PLAY_DIGITS = 13430
    SAY_LOOP = 13510
    SAY_VOICE = 13511
    SAY_TEXT = 13520
    RECORD_METHOD = 13610
    RECORD_TIMEOUT = 13611
    RECORD_MAX_LENGTH = 13612
    RECORD_FINISH_ON_KEY = 13613
    RECORD_TRANSCRIBE = 13614
    RECORD_TOO_LONG_TO_TRANSCRIBE = 13615  # recorded, but not transcribed
    RECORD_PLAY_BEEP = 13616
    RECORDING_STATUS_CALLBACK_EVENT = 13621
    RECORD_TRIM = 13699
    REDIRECT_METHOD = 13710
    REJECT_REASON = 13810
    PAUSE_LENGTH = 13910
    MESSAGE_TO = 14101
    MESSAGE_FROM = 14102
    MESSAGE_BODY = 14103
    MESSAGE_METHOD = 14104
    MESSAGE_INVALID_VERB = 14110  # a voice verb in a messaging document, skipped
    ENQUEUE_METHOD = 14201
    ENQUEUE_NAME_TOO_SHORT = 14204
    ENQUEUE_NAME_TOO_LONG = 14205
    ENQUEUE_WAIT_URL_METHOD = 14206
    ENQUEUE_WORKFLOW_SID = 14220  # not a Workflow SID, or not one of the account's
    ENQUEUE_TASK_ATTRIBUTES = 14221  # <Task> is not a JSON object
    QUEUE_METHOD = 14210
    QUEUE_NAME_TOO_SHORT = 14212
    QUEUE_NAME_TOO_LONG = 14213
    # <Queue reservationSid> "Invalid ReservationSid. Unable to dequeue": not a Reservation SID of the
    # account's, not pending (accepted already, timed out, rejected), or its caller not waiting
    QUEUE_RESERVATION_SID = 14215


class TwimlError(Exception):
    """The document cannot run; `code` is Twilio's, `message` says where and why."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = int(code)
        self.message = message


@dataclass(frozen=True)
class TwimlWarning:
    """Something was ignored and the document runs on; log it as a Notification at level WARNING."""

    code: int
    message: str
