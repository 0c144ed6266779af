"""The demo tenant's IVR, served by the platform itself so a first call works out of the box.

Greeting; press 1 to hear the time, 2 to leave a message (it appears under Recordings). The views
check Twilio's request signature like any customer app should.
"""

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from core import webhooks
from core.tenancy import tenant_scope
from tenants.demo import DEMO_ACCOUNT_ID
from tenants.models import Account
from twiml import verbs
from twiml.builder import to_xml

VOICE = "woman"


def _twiml(*items: verbs.VoiceVerb) -> HttpResponse:
    return HttpResponse(to_xml(verbs.Response(items)), content_type="text/xml")


def _is_signed(request: HttpRequest) -> bool:
    with tenant_scope(DEMO_ACCOUNT_ID):
        token = Account.objects.get(id=DEMO_ACCOUNT_ID).auth_token
    url = f"{settings.PUBLIC_BASE_URL}{request.get_full_path()}"
    params = {key: request.POST.getlist(key) for key in request.POST}
    return webhooks.is_valid_signature(url, params, token, request.headers.get("X-Twilio-Signature", ""))


def demo_view(view):  # type: ignore[no-untyped-def]
    """POST only, CSRF-exempt (Twilio-style webhooks carry a signature instead), signature checked."""

    @csrf_exempt
    @require_POST
    def wrapper(request: HttpRequest) -> HttpResponse:
        if not _is_signed(request):
            return HttpResponseForbidden("invalid X-Twilio-Signature")
        return view(request)  # type: ignore[no-any-return]

    return wrapper


@demo_view
def ivr_greeting(request: HttpRequest) -> HttpResponse:
    return _twiml(
        verbs.Gather(
            children=(
                verbs.Say(
                    "Welcome to the Switchboard demo clinic. Press 1 to hear the time. "
                    "Press 2 to leave a message.",
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
    return _twiml(verbs.Say("Sorry, that is not a choice.", voice=VOICE), verbs.Redirect("/demo/ivr/"))


@demo_view
def ivr_recorded(request: HttpRequest) -> HttpResponse:
    return _twiml(verbs.Say("Thank you. Your message was saved. Goodbye.", voice=VOICE), verbs.Hangup())
