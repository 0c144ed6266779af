"""TaskRouter through the official SDK's `client.taskrouter.v1`, against the real server."""

import json

import pytest
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.rest.taskrouter.v1 import V1

from tests.conftest import Tenant
from tests.numbering.test_twilio_sdk import sdk


def taskrouter(server: str, tenant: Tenant) -> V1:
    return sdk(server, tenant.sid, tenant.token).taskrouter.v1


def refused(call: object, *args: object, **kwargs: object) -> tuple[int, int]:
    """The HTTP status and Twilio code the SDK raised (a list raises its page's response)."""
    with pytest.raises(TwilioException) as error:
        call(*args, **kwargs)  # type: ignore[operator]
    if isinstance(error.value, TwilioRestException):
        return error.value.status, error.value.code
    _, response = error.value.args
    return response.status_code, json.loads(response.text)["code"]
