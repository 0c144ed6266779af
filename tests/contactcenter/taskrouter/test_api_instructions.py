"""A reservation update's `Instruction` and its REST parameters (`DequeueFrom`, `CallUrl`, …) as the
engine's `Instruction`, which an assignment callback's JSON also becomes."""

import pytest

from contactcenter.taskrouter.api.inputs import ReservationUpdateInput
from contactcenter.taskrouter.api.reservations import instruction
from contactcenter.taskrouter.instructions import Instruction
from core.errors import TwilioError
from core.parsers import parse_form


def given(body: str) -> Instruction | None:
    form = ReservationUpdateInput(data=parse_form(body.encode()))
    form.is_valid(raise_exception=True)
    return instruction(dict(form.validated_data))


def test_rest_parameters_become_the_instructions_own() -> None:
    dequeue = given(
        "Instruction=dequeue&DequeueFrom=%2B15005550006&DequeueTo=sip%3Aann%40example.com"
        "&DequeuePostWorkActivitySid=WA" + "1" * 32 + "&DequeueTimeout=30"
    )
    assert dequeue == Instruction(
        name="dequeue",
        from_="+15005550006",
        to="sip:ann@example.com",
        post_work_activity_sid="WA" + "1" * 32,
        timeout_seconds=30,
    )
    call = given(
        "Instruction=call&CallFrom=%2B1500&CallTo=%2B1501&CallUrl=https%3A%2F%2Fa.example%2Ft&CallAccept=true"
    )
    assert call == Instruction(name="call", from_="+1500", to="+1501", url="https://a.example/t", accept=True)
    redirect = given(
        "Instruction=redirect&RedirectCallSid=CA" + "2" * 32 + "&RedirectUrl=https%3A%2F%2Fa.example%2Fr"
    )
    assert redirect == Instruction(name="redirect", call_sid="CA" + "2" * 32, url="https://a.example/r")
    assert given("Instruction=reject&WorkerActivitySid=WA" + "3" * 32) == Instruction(
        name="reject", activity_sid="WA" + "3" * 32
    )
    assert given("ReservationStatus=accepted") is None


def test_the_conference_instruction_is_refused_with_20001() -> None:
    with pytest.raises(TwilioError) as refused:
        given("Instruction=conference")
    assert refused.value.twilio_code == 20001
