"""Single-row inserts for the hottest write paths, without the ORM's query compiler.

`Model.save()` on a new row builds its INSERT afresh each time: on these machines that is
0.4-1 ms of Python per row (benchmarks/bench_ingest.py, issue 2), and receiving one
customer message writes up to five rows. `insert` writes the statement once per model from
its metadata and prepares each value with the field's own `pre_save` and
`get_db_prep_save`, as `save()` does, so `auto_now_add`, JSON and time-zone handling stay
Django's. It sends `pre_save` and `post_save` like `save()`, so receivers still run.

Only for plain models: no multi-table inheritance, no overridden `save()` (the caller's
responsibility, checked by `insert` where it can be).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

from django.db import connections
from django.db.models import Field, Model
from django.db.models.signals import post_save, pre_save

from calmdesk.lean_reads import column_of


@cache
def _plan(
    model: type[Model], ignore_conflicts: bool, using: str, rows: int = 1
) -> tuple[str, list[Field[Any, Any]]]:
    """The INSERT of `rows` rows of `model` (reading back its returning fields, in the
    order `_returned_converters` lists them) and the fields it writes."""
    meta = model._meta
    if meta.parents:
        raise TypeError(f"{model.__name__} inherits from another model: use save()")
    if model.save is not Model.save:
        raise TypeError(f"{model.__name__} overrides save(): use save()")
    connection = connections[using]
    if not connection.features.can_return_columns_from_insert:
        raise TypeError(f"{connection.vendor} cannot return columns from an insert")
    returned = list(meta.db_returning_fields)
    written = [
        field
        for field in meta.local_concrete_fields
        if field not in returned and not getattr(field, "generated", False)
    ]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(column_of(field)) for field in written)
    one_row = "(" + ", ".join(["%s"] * len(written)) + ")"
    values = ", ".join([one_row] * rows)
    returning = ", ".join(quote(column_of(field)) for field in returned)
    conflict = " ON CONFLICT DO NOTHING" if ignore_conflicts else ""
    # Every name comes from the model's metadata; values are always parameters.
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES {values}"  # noqa: S608
        f"{conflict} RETURNING {returning}"
    )
    return sql, written


def insert(instance: Model, *, ignore_conflicts: bool = False, using: str = "default") -> bool:
    """Insert a new, unsaved `instance` and fill in its primary key, as `save()` would.

    With `ignore_conflicts`, a row that would break a unique constraint is not written and
    False is returned (no exception, so no savepoint is needed around the call); the
    instance then stays unsaved.
    """
    model = type(instance)
    sql, written = _plan(model, ignore_conflicts, using)
    params = _prepared(instance, written, using)
    with connections[using].cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return False
    _saved(instance, row, using)
    return True


def insert_many(instances: Sequence[Model], *, using: str = "default") -> None:
    """Insert new, unsaved instances of one model in a single statement, in order.

    For rows a service collects during one operation (the audit events of one policy run):
    one round trip instead of one per row, with the same preparation and signals as
    `insert`. Unlike `bulk_create`, `pre_save` and `post_save` are sent for every row.
    """
    if not instances:
        return
    model = type(instances[0])
    if any(type(instance) is not model for instance in instances):
        raise TypeError("insert_many() writes rows of one model")
    sql, written = _plan(model, False, using, len(instances))
    params = [value for instance in instances for value in _prepared(instance, written, using)]
    with connections[using].cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    if len(rows) != len(instances):
        raise RuntimeError(f"inserted {len(instances)} rows, {len(rows)} came back")
    # PostgreSQL and SQLite return the rows of a VALUES list in its order (bulk_create
    # relies on the same).
    for instance, row in zip(instances, rows, strict=True):
        _saved(instance, row, using)


def _prepared(instance: Model, written: list[Field[Any, Any]], using: str) -> list[Any]:
    """The instance's values as save() would send them, after `pre_save`."""
    model = type(instance)
    if not instance._state.adding or instance.pk is not None:
        raise ValueError("insert() writes new rows only: use save() to update")
    # As save() does: a related object assigned before it was saved gives its key now.
    instance._prepare_related_fields_for_save(operation_name="insert")  # type: ignore[attr-defined]
    if pre_save.has_listeners(model):
        pre_save.send(sender=model, instance=instance, raw=False, using=using, update_fields=None)
    connection = connections[using]
    return [field.get_db_prep_save(field.pre_save(instance, True), connection) for field in written]


@cache
def _returned_converters(model: type[Model], using: str) -> list[tuple[str, Any, list[Any]]]:
    """Per column an INSERT returns: the attname, the column and the converters the compiler
    would apply (worked out once per model, not per row)."""
    connection = connections[using]
    found = []
    for field in model._meta.db_returning_fields:
        column = field.get_col(model._meta.db_table)
        converters = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
        found.append((field.attname, column, converters))
    return found


def _saved(instance: Model, row: Sequence[Any], using: str) -> None:
    """Fill in what the database returned and announce the new row, as save() does."""
    model = type(instance)
    connection = connections[using]
    for (attname, column, converters), value in zip(
        _returned_converters(model, using), row, strict=True
    ):
        for converter in converters:
            value = converter(value, column, connection)
        setattr(instance, attname, value)
    instance._state.adding = False
    instance._state.db = using
    if post_save.has_listeners(model):
        post_save.send(
            sender=model,
            instance=instance,
            created=True,
            update_fields=None,
            raw=False,
            using=using,
        )


@cache
def _update_plan(
    model: type[Model], field_names: tuple[str, ...], using: str
) -> tuple[str, list[Field[Any, Any]]]:
    meta = model._meta
    if model.save is not Model.save:
        raise TypeError(f"{model.__name__} overrides save(): use save()")
    fields = [meta.get_field(name) for name in field_names]
    quote = connections[using].ops.quote_name
    assignments = ", ".join(f"{quote(column_of(field))} = %s" for field in fields)
    sql = (
        f"UPDATE {quote(meta.db_table)} SET {assignments} "  # noqa: S608 - names from the model
        f"WHERE {quote(column_of(meta.pk))} = %s"
    )
    return sql, fields  # type: ignore[return-value]


def update(instance: Model, *, fields: tuple[str, ...], using: str = "default") -> None:
    """`instance.save(update_fields=fields)` for a stored row, without the query compiler.

    Values are prepared by each field's `pre_save` (so `auto_now` fields named in `fields`
    get the current time) and `get_db_prep_save`; `pre_save` and `post_save` are sent with
    `update_fields`, as `save()` sends them.
    """
    model = type(instance)
    if instance._state.adding or instance.pk is None:
        raise ValueError("update() rewrites stored rows only: use insert() for new ones")
    sql, written = _update_plan(model, fields, using)
    update_fields = frozenset(fields)
    if pre_save.has_listeners(model):
        pre_save.send(
            sender=model, instance=instance, raw=False, using=using, update_fields=update_fields
        )
    connection = connections[using]
    params = [
        field.get_db_prep_save(field.pre_save(instance, False), connection) for field in written
    ]
    params.append(model._meta.pk.get_db_prep_save(instance.pk, connection))
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        if cursor.rowcount != 1:
            raise model.DoesNotExist(f"{model.__name__} {instance.pk} is not stored")  # type: ignore[attr-defined]
    if post_save.has_listeners(model):
        post_save.send(
            sender=model,
            instance=instance,
            created=False,
            update_fields=update_fields,
            raw=False,
            using=using,
        )
