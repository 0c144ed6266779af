"""Multi-row INSERT statements whose text does not grow with the number of rows.

Django's `bulk_create` writes `VALUES (%s, ...), (%s, ...)` with a placeholder per column per row:
for a few hundred rows, psycopg spent more CPU splitting that query string (it cannot cache a
statement whose text changes with every row count) than PostgreSQL spent inserting. Here each
column is one parameter: its value when every row has the same, else an array that `unnest` turns
back into rows. Values are prepared as the model's fields would save them, defaults and
`auto_now` included, so a field added later needs no change here.
"""

from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

from django.db import connection
from django.db.models import Model


@cache
def _columns(model: type[Model]) -> tuple[str, list[str]]:
    """The model's column list and each column's type, worked out once per process."""
    fields = model._meta.concrete_fields
    names = ", ".join(connection.ops.quote_name(str(field.column)) for field in fields)
    return names, [str(field.db_type(connection)) for field in fields]


def _statement(
    model: type[Model], values: Sequence[Any | list[Any]], varies: Sequence[bool]
) -> tuple[str, list[Any]]:
    """The INSERT for one value per field (in `concrete_fields` order), or a list of one per row
    where `varies` says so; the values are as the fields hold them, not yet prepared."""
    columns, db_types = _columns(model)
    selected: list[str] = []
    constants: list[Any] = []
    arrays: list[str] = []
    arrays_params: list[Any] = []
    for field, db_type, value, is_list in zip(
        model._meta.concrete_fields, db_types, values, varies, strict=True
    ):
        if not is_list:
            selected.append(f"%s::{db_type}")
            constants.append(field.get_db_prep_save(value, connection))
            continue
        if db_type.endswith("]"):
            raise ValueError(f"{model.__name__}.{field.name} differs between rows and cannot be unnested")
        selected.append(f"r.c{len(arrays)}")
        arrays.append(f"%s::{db_type}[]")
        arrays_params.append([field.get_db_prep_save(one, connection) for one in value])
    source = f" FROM unnest({', '.join(arrays)}) AS r({', '.join(f'c{i}' for i in range(len(arrays)))})"
    sql = (
        f"INSERT INTO {connection.ops.quote_name(model._meta.db_table)} ({columns}) "
        f"SELECT {', '.join(selected)}{source if arrays else ''}"
    )
    return sql, [*constants, *arrays_params]


def insert_sql(model: type[Model], objects: Sequence[Model]) -> tuple[str, list[Any]]:
    """`INSERT INTO <table> (<columns>) SELECT ...` for `objects` (at least one), and its parameters.

    A column whose values differ must hold scalars: arrays of arrays, such as an ArrayField's, do
    not survive `unnest`, so such a column must be the same in every row (or left to bulk_create).
    """
    per_field = [[field.pre_save(obj, True) for obj in objects] for field in model._meta.concrete_fields]
    varies = [any(value != values[0] for value in values) for values in per_field]
    return _statement(
        model,
        [values if is_list else values[0] for values, is_list in zip(per_field, varies, strict=True)],
        varies,
    )


def insert_template_sql(template: Model, per_row: Mapping[str, Sequence[Any]]) -> tuple[str, list[Any]]:
    """The INSERT for rows that are all `template` but for the fields named in `per_row` (by attname),
    which give one value per row each: for thousands of rows, without a model instance per row."""
    fields = template._meta.concrete_fields
    values = [
        list(per_row[field.attname]) if field.attname in per_row else field.pre_save(template, True)
        for field in fields
    ]
    return _statement(type(template), values, [field.attname in per_row for field in fields])
