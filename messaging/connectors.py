"""Carrier connectors as an operator configures them: every save audited on the platform's chain,
since a connector belongs to no account."""

from typing import Any

from django.db import transaction

from compliance.models import PLATFORM_CHAIN_ID
from compliance.services import audit_record
from core.encrypted import EncryptedTextField
from core.tenancy import tenant_switch
from messaging.models import Connector


def _settings(connector: Connector) -> dict[str, Any]:
    """What the audit entry records: every setting but the encrypted password."""
    return {
        field.attname: getattr(connector, field.attname)
        for field in Connector._meta.concrete_fields
        if not field.primary_key and not isinstance(field, EncryptedTextField)
    }


def connector_save(*, connector: Connector, actor: str, is_sole_default: bool = False) -> Connector:
    """Save a new or changed connector; with `is_sole_default`, it becomes the default and no other
    connector stays one (each it replaces gets an entry of its own). The gateway reads connectors
    when it starts."""
    action = "connector.create" if connector._state.adding else "connector.update"
    demoted: list[str] = []
    with transaction.atomic():
        if is_sole_default:
            others = Connector.objects.exclude(name=connector.name).filter(is_default=True)
            demoted = sorted(others.values_list("name", flat=True))
            others.update(is_default=False)
            connector.is_default = True
        connector.save()
        with tenant_switch(PLATFORM_CHAIN_ID):
            audit_record(
                account_id=PLATFORM_CHAIN_ID,
                actor=actor,
                action=action,
                object_sid=connector.name,
                payload=_settings(connector),
            )
            for name in demoted:
                audit_record(
                    account_id=PLATFORM_CHAIN_ID,
                    actor=actor,
                    action="connector.update",
                    object_sid=name,
                    payload={"is_default": False},
                )
    return connector
