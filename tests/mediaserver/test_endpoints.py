"""The PJSIP endpoint strings ARI is given, as the trunk's config names them."""

from mediaserver import endpoints


def test_a_number_is_dialled_through_the_trunk_at_its_address() -> None:
    address = endpoints.trunk_address("sip:carrier@192.0.2.10:5060")
    assert address == "192.0.2.10:5060"
    assert endpoints.dial_number("+14155550123", address) == "PJSIP/trunk/sip:+14155550123@192.0.2.10:5060"
    assert endpoints.trunk_address("sip:127.0.0.1:5090") == "127.0.0.1:5090"


def test_a_checked_sip_uri_is_dialled_through_the_trunk_as_it_is() -> None:
    uri = "sip:alice@127.0.0.2:5099;transport=tcp?X-Ref=7"
    assert endpoints.dial_uri(uri) == f"PJSIP/trunk/{uri}"


def test_texts_go_to_the_trunk_from_the_named_endpoint_and_its_events_are_subscribed() -> None:
    to = endpoints.message_destination("trunk", "+12065550180", "127.0.0.1:5090")
    assert to == "pjsip:trunk/sip:+12065550180@127.0.0.1:5090"
    assert endpoints.endpoint_events("trunk") == "endpoint:PJSIP/trunk"
