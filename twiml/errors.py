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

Raised (`TwimlError`); the interpreter logs a Notification at level ERROR and ends the call (or sends no
reply):

| code  | condition |
|-------|-----------|
| 11750 | document larger than 64 KiB (65,536 bytes of UTF-8) |
| 12100 | not well-formed XML, not UTF-8 (bytes or declared encoding), empty, DOCTYPE or ENTITY present |
| 12102 | root element is not `<Response>` |
| 12200 | a known element where it cannot be (`<Number>` under `<Response>`, `<Say>` under `<Play>`); a
|       | required text or attribute missing (`<Redirect/>`, `<Play/>`, Stream without url, Parameter
|       | without name); Stream url not wss://; text and a text element both given; over 10 `<Media>` |
| 13000 | `<Conference>` with another noun in its `<Dial>` |
| 13215 | a verb inside `<Dial>`, nothing to dial, text and nouns both, `<Queue>` with another noun, over 10
|       | `<Number>` |
| 13223 | `<Number>` (or `<Dial>` text) not a phone number |
| 13237 | `<Conference>` without a name |
| 13243 | `<Sip>` text not a sip:/sips: URI |
| 13320 | a verb other than Say, Play, Pause inside `<Gather>` |
| 13430 | `<Play digits>` not DTMF (what Play plays: no default) |
| 13520 | `<Say>` text empty or over 4,096 characters |
| 14101 | Sms/Message `to` invalid (the default recipient is someone else) |
| 14102 | Sms/Message `from` invalid (likewise the default sender) |
| 14103 | Sms/Message body missing or over 1,600 characters |
| 14204 | `<Enqueue>` without a queue name; 14205 name over 64 characters |
| 14212 | `<Dial><Queue>` without a queue name; 14213 name over 64 characters |

Warned (`TwimlWarning`, returned next to the parsed document); log a Notification at level WARNING.
Attribute values fall back to the default of the field in `twiml.verbs`:

| code  | condition |
|-------|-----------|
| 12200 | unknown or wrongly cased element (`<say>`, `<Foo>`), skipped with its content |
| 12200 | unknown attribute, or a Twilio attribute or noun Switchboard does not implement, ignored |
| 12200 | stray text where only elements belong; SSML inside `<Say>` (spoken as its plain text) |
| 12200 | an invalid value of an attribute with no code of its own: Say `language`, Stream `track` (and
|       | under Connect anything but inbound_track), Dial `trim` and `recordingTrack`, Conference `record`
|       | and `maxParticipants`, Enqueue `maxQueueSize`, every `statusCallbackEvent`, and the methods
|       | without their own code (`statusCallbackMethod`, Client `method`, Start/Connect `method`, ...) |
| 13210 | Dial `method`; 13212 `timeout` (5-600); 13213 `hangupOnStar`; 13214 `callerId`; 13216 `timeLimit`;
|       | 13217 `record`; 13218 `sequential`; 13219 `answerOnBridge`; 13220 `ringTone` |
| 13221 | Number `method`; 13222 `sendDigits` |
| 13230 | Conference `muted`; 13231 `endConferenceOnExit`; 13232 `startConferenceOnEnter`; 13234
|       | `waitMethod`; 13235 `beep`; 13239 `trim` |
| 13241 | Sip `method` |
| 13310 | Gather `finishOnKey`; 13312 `method`; 13313 `timeout`; 13314 `numDigits`; 13326 `input`; 13327
|       | `speechTimeout`; 13328 `maxSpeechTime`; 13329 `partialResultCallbackMethod`; 13331 `language`;
|       | 13332 `bargeIn`; 13333 `profanityFilter`; 13338 `actionOnEmptyResult` |
| 13321 | Say `voice` inside Gather; 13322 its `loop` |
| 13410 | Play `loop` |
| 13510 | Say `loop`; 13511 `voice` |
| 13610 | Record `method`; 13611 `timeout`; 13612 `maxLength`; 13613 `finishOnKey`; 13614 `transcribe`;
|       | 13616 `playBeep`; 13621 `recordingStatusCallbackEvent`; 13699 `trim` |
| 13615 | `transcribe="true"` with `maxLength` above 120 s: recorded, but not transcribed |
| 13710 | Redirect `method` (voice) |
| 13810 | Reject `reason` |
| 13910 | Pause `length` |
| 14104 | Sms/Message `method`, and Redirect `method` in a messaging document |
| 14110 | a voice verb in a messaging document, skipped |
| 14201 | Enqueue `method`; 14206 `waitUrlMethod` |
| 14210 | Dial Queue `method` |
"""

from dataclasses import dataclass
from enum import IntEnum


class Code(IntEnum):
    """Every code this library raises or warns with."""

    RESPONSE_TOO_LARGE = 11750
    PARSE_FAILURE = 12100
    ROOT_NOT_RESPONSE = 12102
    SCHEMA = 12200
    CONFERENCE_MIXED = 13000
    DIAL_METHOD = 13210
    DIAL_TIMEOUT = 13212
    DIAL_HANGUP_ON_STAR = 13213
    DIAL_CALLER_ID = 13214
    DIAL_NESTED = 13215
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
    RECORD_TOO_LONG_TO_TRANSCRIBE = 13615
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
    MESSAGE_INVALID_VERB = 14110
    ENQUEUE_METHOD = 14201
    ENQUEUE_NAME_TOO_SHORT = 14204
    ENQUEUE_NAME_TOO_LONG = 14205
    ENQUEUE_WAIT_URL_METHOD = 14206
    QUEUE_METHOD = 14210
    QUEUE_NAME_TOO_SHORT = 14212
    QUEUE_NAME_TOO_LONG = 14213


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
