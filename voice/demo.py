"""The demo tenant's IVR, served by the platform itself so a first call works out of the box.

Greeting; press 1 to hear the time, 2 to leave a message (it appears under Recordings), 3 to get the
clinic's address by text (the <Sms> verb: the text joins the caller's conversation with the call),
4 to speak to the front desk (a redirect to the contact center's demo, contactcenter/demo.py, which
enqueues the caller for the demo's receptionist).
The views check Twilio's request signature like any customer app should.
"""

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from tenants.demo import demo_view
from twiml import verbs
from twiml.builder import to_xml

VOICE = "woman"
FRONT_DESK = "/demo/front-desk/"  # served by contactcenter/demo.py, which voice may not import
ADDRESS_TEXT = "Switchboard demo clinic, 1 Example Street. Reply to this text to reach us; STOP to opt out."


def _twiml(*items: verbs.VoiceVerb) -> HttpResponse:
    return HttpResponse(to_xml(verbs.Response(items)), content_type="text/xml")


@demo_view
def ivr_greeting(request: HttpRequest) -> HttpResponse:
    return _twiml(
        verbs.Gather(
            children=(
                verbs.Say(
                    "Welcome to the Switchboard demo clinic. Press 1 to hear the time. "
                    "Press 2 to leave a message. Press 3 to get our address by text. "
                    "Press 4 to speak to the front desk.",
                    voice=VOICE,
                ),
            ),
            action="/demo/ivr/menu/",
            num_digits=1,
            timeout=5,
        ),
        verbs.Say("We did not hear a choice. Goodbye.", voice=VOICE),
        verbs.Hangup(),
    )


@demo_view
def ivr_menu(request: HttpRequest) -> HttpResponse:
    choice = request.POST.get("Digits", "")
    if choice == "1":
        now = timezone.now()
        return _twiml(verbs.Say(f"The time is {now:%H:%M} U T C.", voice=VOICE), verbs.Redirect("/demo/ivr/"))
    if choice == "2":
        return _twiml(
            verbs.Say("Please leave a message after the beep. Press pound when you are done.", voice=VOICE),
            verbs.Record(action="/demo/ivr/recorded/", max_length=60, finish_on_key="#", timeout=3),
            verbs.Say("We did not get a message. Goodbye.", voice=VOICE),
        )
    if choice == "3":
        return _twiml(
            verbs.Sms(ADDRESS_TEXT),
            verbs.Say("We sent you a text with our address. Goodbye.", voice=VOICE),
            verbs.Hangup(),
        )
    if choice == "4":
        return _twiml(verbs.Redirect(FRONT_DESK))
    return _twiml(verbs.Say("Sorry, that is not a choice.", voice=VOICE), verbs.Redirect("/demo/ivr/"))


@demo_view
def ivr_recorded(request: HttpRequest) -> HttpResponse:
    return _twiml(verbs.Say("Thank you. Your message was saved. Goodbye.", voice=VOICE), verbs.Hangup())
