"""insert_sql: one parameter per column whatever the row count; equal values once, others unnested."""

from typing import Any

import pytest
from django.db import connection

from core.inserts import insert_sql
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
    tenant_a: Tenant,
) -> None:
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
