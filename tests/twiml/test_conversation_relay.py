"""`<Connect><ConversationRelay>`: Twilio's older true/false spelling of the interruption settings, and
attributes Twilio has that Switchboard does not act on (warned, the session still runs)."""

from twiml.errors import Code
from twiml.parser import parse_voice
from twiml.verbs import Connect, ConversationRelay


def test_true_and_false_mean_any_and_none_for_interruption() -> None:
    parsed = parse_voice(
        '<Response><Connect><ConversationRelay url="wss://x" interruptible="false" '
        'welcomeGreetingInterruptible="True" reportInputDuringAgentSpeech="true"/></Connect></Response>'
    )
    relay = parsed.response.verbs[0].children[0]
    assert (relay.interruptible, relay.welcome_greeting_interruptible) == ("none", "any")
    assert relay.report_input_during_agent_speech == "any"
    assert parsed.warnings == ()


def test_an_attribute_switchboard_does_not_act_on_is_a_warning_and_the_relay_runs() -> None:
    parsed = parse_voice(
        '<Response><Connect><ConversationRelay url="ws://x" speechTimeout="500"/></Connect></Response>'
    )
    assert parsed.response.verbs == (Connect((ConversationRelay("ws://x"),)),)
    assert [w.code for w in parsed.warnings] == [Code.SCHEMA]
    assert "not supported by Switchboard" in parsed.warnings[0].message
