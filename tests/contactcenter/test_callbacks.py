"""A callback's number as the app wrote it in the task (`{"callback": {"to": …}}`): the Tasks API
takes any JSON there, so the callback checks it before the platform dials it."""

import pytest

from contactcenter.callbacks import callback_place
from contactcenter.taskrouter.models import Reservation, Task, Worker
from core.error_codes import ErrorCode
from core.errors import TwilioError
from core.tenancy import tenant_activate
from numbering.services import number_create
from tests.conftest import Tenant
from tests.contactcenter.taskrouter.factories import make_workspace
from voice.models import Call

OURS = "+15005550006"


@pytest.mark.parametrize(
    "to", ["x@10.0.0.5:5060;transport=tcp?X-A=", "sip:ops@169.254.169.254", "+1 555 PHONE", ""]
)
def test_a_callback_to_anything_but_a_phone_number_is_refused(tenant_a: Tenant, to: str) -> None:
    """It went into the trunk's dial string as written (`PJSIP/…/sip:<to>@<trunk>`), where the
    Calls API's To takes a phone number only."""
    tenant_activate(tenant_a.account.id)
    number_create(account=tenant_a.account, actor="test", phone_number=OURS)
    setup = make_workspace(tenant_a.account)
    worker = Worker(attributes_json={"contact_uri": "client:WK" + "0" * 32})
    attributes = {"to": OURS, "callback": {"to": to, "via": "voice"}}
    task = Task(account=tenant_a.account, workspace=setup.workspace, attributes_json=attributes)
    with pytest.raises(TwilioError) as refused:
        callback_place(reservation=Reservation(task=task, worker=worker))
    assert refused.value.twilio_code == ErrorCode.INVALID_TO_NUMBER
    assert not Call.objects.exists()
