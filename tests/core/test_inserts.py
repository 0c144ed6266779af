"""insert_sql and insert_template_sql: one parameter per column whatever the row count; equal values
once, others unnested."""

import uuid
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from core.inserts import insert_sql, insert_template_sql
from core.tenancy import tenant_activate
from messaging.models import Message
from tests.conftest import Tenant


def messages(tenant: Tenant, count: int, **fields: Any) -> list[Message]:
    return [
        Message(
            account=tenant.account,
            direction="outbound-api",
            from_number="+15017122661",
            to_number=f"+1415555{i:04d}",
            body=f"text {i}",
            status="queued",
            **fields,
        )
        for i in range(count)
    ]


def test_rows_are_stored_as_the_model_would_save_them_with_a_statement_that_does_not_grow(
    tenant_a: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One clock for every row: otherwise whether two rows' auto_now times differ depends on the
    # microsecond, and with it which columns are unnested.
    now = timezone.now()
    monkeypatch.setattr(timezone, "now", lambda: now)
    tenant_activate(tenant_a.account.id)
    few, many = messages(tenant_a, 2), messages(tenant_a, 300)
    (sql_few, params_few), (sql_many, params_many) = insert_sql(Message, few), insert_sql(Message, many)
    assert sql_few == sql_many and len(params_few) == len(params_many)
    with connection.cursor() as cursor:
        cursor.execute(sql_many, params_many)
    stored = {m.to_number: m for m in Message.objects.filter(account=tenant_a.account)}
    assert len(stored) == 300
    last = stored["+14155550299"]
    assert (last.body, last.encoding, last.num_segments, last.carrier_message_ids) == (
        "text 299",
        "GSM-7",
        1,
        [],
    )
    assert last.date_created is not None and last.id == many[299].id  # defaults and auto_now applied


def test_a_column_of_arrays_must_be_the_same_in_every_row(tenant_a: Tenant) -> None:
    rows = messages(tenant_a, 2)
    rows[1].carrier_message_ids = ["abc"]
    with pytest.raises(ValueError, match="carrier_message_ids"):
        insert_sql(Message, rows)


def test_a_template_gives_every_row_but_the_fields_listed_per_row(tenant_a: Tenant) -> None:
    tenant_activate(tenant_a.account.id)
    (template,) = messages(tenant_a, 1)
    ids = [uuid.uuid4() for _ in range(3)]
    recipients = ["+14155550301", "+14155550302", "+14155550303"]
    with connection.cursor() as cursor:
        cursor.execute(*insert_template_sql(template, {"id": ids, "to_number": recipients}))
    stored = Message.objects.filter(account=tenant_a.account).order_by("to_number")
    assert [(m.id, m.to_number) for m in stored] == list(zip(ids, recipients, strict=True))
    assert {(m.body, m.status, m.from_number) for m in stored} == {("text 0", "queued", "+15017122661")}
    assert all(m.date_created is not None for m in stored)
