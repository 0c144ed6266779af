"""Twilio's error codes as the platform names them; imports nothing, so codecs and workers use it as is."""

from enum import IntEnum


class ErrorCode(IntEnum):
    """Twilio's error codes that the platform raises or records, each named after its title in Twilio's
    dictionary (https://www.twilio.com/docs/api/errors).

    The codes of TwiML itself (11750, 12100, 12102, 12200, 13xxx, 14xxx) are `twiml.errors.Code`, also
    where the platform reports them (a document too large, a Dial callerId refused); a code lives in one
    enum only. A member is its number in JSON, database rows, str() and f-strings (an IntEnum on 3.11).
    """

    INCOMING_CALL_REJECTED_INACTIVE_ACCOUNT = 10003
    INVALID_URL_FORMAT = 11100
    HTTP_RETRIEVAL_FAILURE = 11200
    HTTP_CONNECTION_FAILURE = 11205
    MEDIA_EXCEEDS_SIZE_LIMIT = 11751  # Twilio's for MMS media; here also for media a <Play> fetches
    INTERNAL_FAILURE = 12400  # of a TwiML document's processing, such as a redirect loop
    PLAY_INVALID_CONTENT_TYPE = 13420
    # also Twilio's answer for a required parameter missing, and TaskRouter's (HTTP 400) for invalid
    # input (its validation answers carry 20001, e.g. nash-md/twilio-contact-center issue 23; the error
    # dictionary has no code of its own for a malformed expression or Workflow configuration)
    UNKNOWN_PARAMETERS = 20001
    PERMISSION_DENIED = 20003  # also credentials refused, with HTTP 401
    METHOD_NOT_ALLOWED = 20004
    ACCOUNT_NOT_ACTIVE = 20005
    PAGE_SIZE_TOO_LARGE = 20007  # and too small
    CANNOT_DELETE_BEFORE_COMPLETE = 20009
    NOT_FOUND = 20404
    INVALID_PARAMETER = 20422
    TOO_MANY_REQUESTS = 20429
    INTERNAL_SERVER_ERROR = 20500
    SERVICE_UNAVAILABLE = 20503
    INVALID_URL = 21205
    FROM_NOT_VERIFIED = 21210
    INVALID_TO_NUMBER = 21211
    INVALID_FROM_NUMBER = 21212
    TO_NOT_REACHABLE = 21214  # also a call no media server can place
    INVALID_CALL_STATE = 21220
    INVALID_PHONE_NUMBER = 21421
    PHONE_NUMBER_NOT_AVAILABLE = 21422
    NO_NUMBERS_IN_AREA_CODE = 21452
    SUBACCOUNT_CLOSED = 21479  # its Status cannot be updated
    INVALID_PAGE_TOKEN = 21481
    BODY_REQUIRED = 21602
    FROM_REQUIRED = 21603
    TO_REQUIRED = 21604
    FROM_NOT_MESSAGE_CAPABLE = 21606  # not a message-capable number of this account
    UNSUBSCRIBED_RECIPIENT = 21610
    BODY_TOO_LONG = 21617  # over 1600 characters, concatenated
    BODY_OR_MEDIA_REQUIRED = 21619
    INVALID_MEDIA_URL = 21620
    TOO_MANY_MEDIA = 21623
    INVALID_VALIDITY_PERIOD = 21624
    INVALID_MESSAGING_SERVICE_SID = 21705
    QUEUE_OVERFLOW = 30001
    ACCOUNT_SUSPENDED = 30002
    UNREACHABLE_DESTINATION_HANDSET = 30003
    UNKNOWN_DESTINATION_HANDSET = 30005
    LANDLINE_OR_UNREACHABLE_CARRIER = 30006
    MESSAGE_FILTERED = 30007  # by the carrier
    UNKNOWN_ERROR = 30008
    INVALID_MESSAGE_UPDATE = 30400  # ours: an update that is neither a redaction nor a cancel
    MESSAGE_CANNOT_BE_CANCELED = 30409
    STREAM_CONNECTION_TIMEOUT = 31901  # the app did not answer the websocket upgrade in time
    STREAM_CONNECTION_REFUSED = 31902  # also an app on an address the destination policy refuses
    STREAM_SSL_ERROR = 31910
    STREAM_HANDSHAKE_ERROR = 31920  # also a stream URL with a query string, which the handshake drops
    STREAM_URL_SCHEME_NOT_SUPPORTED = 31922  # not wss:// (ws:// is allowed, for private networks)
    STREAM_MALFORMED_URL = 31923
    STREAM_PROTOCOL_ERROR = 31924  # an app message other than media, mark or clear, or a malformed one
    TWIML_TOO_LONG = 32018  # the inline Twiml parameter, over 4000 characters
    SEND_AT_MISSING = 35111
    SEND_AT_NOT_SUPPORTED = 35114  # outside the scheduling window
    SCHEDULE_TYPE_NOT_SUPPORTED = 35126
    TASKROUTER_CALL = 40114  # a `call` instruction for a reservation no longer pending
    TASKROUTER_REDIRECT = 40123  # a `redirect` instruction for a reservation no longer pending
    TASKROUTER_DEQUEUE = 40135  # a `dequeue` instruction for a reservation no longer pending
    INVALID_TASKROUTER_INSTRUCTION = 55555
