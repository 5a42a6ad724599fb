"""Joined single-row reads for the hottest request paths, without the ORM's query compiler.

Building a `select_related` query costs the ORM 0.3-0.9 ms of Python per statement on
these machines, against under 0.1 ms for the same SQL through a cursor (benchmarks/
bench_ingest.py, issue 2); on the API's token check it was most of the request. A
`JoinedRead` writes the SQL once from the models' own metadata, so a new column is picked
up without editing SQL, and turns the row back into model instances with Django's
documented `Model.from_db`, with each link's related-object cache filled as
`select_related` would have filled it.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from django.db import connections
from django.db.models import ForeignKey, ForeignObjectRel, Model


@dataclass(frozen=True)
class Link:
    """One model in the chain and how it hangs on the one before it.

    `through` names the relation on the previous model (a forward foreign key or one-to-one,
    or a reverse one-to-one); the first link has none. `required` makes the join an inner
    one: the row is not found without it.
    """

    model: type[Model]
    through: str = ""
    required: bool = False


class JoinedRead:
    """`SELECT` one row of a chain of models joined on their relations.

    The row is found by equality on `where`, one or more fields of the first model.
    """

    def __init__(
        self,
        *links: Link,
        where: str | tuple[str, ...],
        for_update: bool = False,
        using: str = "default",
    ) -> None:
        if not links or links[0].through:
            raise ValueError("the first link is the model read; it hangs on nothing")
        self.links = links
        self.where = (where,) if isinstance(where, str) else where
        # Locks the first model's row until the transaction ends, where the database can
        # (as select_for_update(of=("self",)) does; SQLite locks the whole database anyway).
        self.for_update = for_update
        self.using = using

    @cached_property
    def _relations(self) -> list[ForeignKey[Any, Any] | ForeignObjectRel | None]:
        relations: list[ForeignKey[Any, Any] | ForeignObjectRel | None] = [None]
        for previous, link in zip(self.links, self.links[1:], strict=False):
            relation = previous.model._meta.get_field(link.through)
            if relation.related_model is not link.model or not isinstance(
                relation, ForeignKey | ForeignObjectRel
            ):
                raise ValueError(f"{previous.model.__name__}.{link.through} is not a {link.model}")
            relations.append(relation)
        return relations

    @cached_property
    def _converters(self) -> list[tuple[int, list[Any], Any]]:
        """Per column, the backend's and the field's converters, as the compiler applies them."""
        connection = connections[self.using]
        found: list[tuple[int, list[Any], Any]] = []
        position = 0
        for link in self.links:
            for field in link.model._meta.concrete_fields:
                column = field.get_col(link.model._meta.db_table)
                converters = connection.ops.get_db_converters(column) + column.get_db_converters(
                    connection
                )
                if converters:
                    found.append((position, converters, column))
                position += 1
        return found

    @cached_property
    def sql(self) -> str:
        quote = connections[self.using].ops.quote_name
        columns: list[str] = []
        joins: list[str] = []
        for index, link in enumerate(self.links):
            alias = f"t{index}"
            columns += [f"{alias}.{quote(column_of(f))}" for f in link.model._meta.concrete_fields]
            relation = self._relations[index]
            if relation is None:
                continue
            previous = f"t{index - 1}"
            if isinstance(relation, ForeignObjectRel):
                # Reverse one-to-one: the key sits on this link's table.
                key, target = column_of(relation.field), column_of(relation.field.target_field)
                condition = f"{alias}.{quote(key)} = {previous}.{quote(target)}"
            else:
                key, target = column_of(relation), column_of(relation.target_field)
                condition = f"{alias}.{quote(target)} = {previous}.{quote(key)}"
            kind = "JOIN" if link.required else "LEFT JOIN"
            joins.append(f"{kind} {quote(link.model._meta.db_table)} {alias} ON {condition}")
        first = self.links[0].model._meta
        conditions = " AND ".join(
            f"t0.{quote(column_of(first.get_field(name)))} = %s" for name in self.where
        )
        lock = ""
        features = connections[self.using].features
        if self.for_update and features.has_select_for_update:
            lock = " FOR UPDATE OF t0" if features.has_select_for_update_of else " FOR UPDATE"
        # Every name comes from the models' metadata; values are always parameters.
        return (
            f"SELECT {', '.join(columns)} FROM {quote(first.db_table)} t0 "  # noqa: S608
            f"{' '.join(joins)} WHERE {conditions}{lock}"
        )

    def one(self, *values: object) -> Model | None:
        """The first model of the chain with the others cached on it, or None when no row matches.

        `values` go with the `where` fields, in order. Use it where those fields are unique.
        """
        row = self.row(*values)
        return None if row is None else self.instances(row)

    def row(self, *values: object) -> tuple[Any, ...] | None:
        """The matching row with Django's converters applied, or None: what `one` builds
        its instances from, for a caller that keeps rows (`instances` builds them later)."""
        if len(values) != len(self.where):
            raise TypeError(f"{len(self.where)} values wanted, for {self.where}")
        with connections[self.using].cursor() as cursor:
            cursor.execute(self.sql, list(values))  # type: ignore[arg-type]
            found = cursor.fetchone()
        if found is None:
            return None
        converted = list(found)
        connection = connections[self.using]
        for position, converters, column in self._converters:
            for converter in converters:
                converted[position] = converter(converted[position], column, connection)
        return tuple(converted)

    @cached_property
    def _layouts(self) -> list[tuple[int, int, list[str], int]]:
        """Per link: where its columns start and end in the row, their attnames, its pk's place."""
        layouts = []
        start = 0
        for link in self.links:
            fields = link.model._meta.concrete_fields
            pk_index = next(i for i, f in enumerate(fields) if f.primary_key)
            layouts.append((start, start + len(fields), [f.attname for f in fields], pk_index))
            start += len(fields)
        return layouts

    def instances(self, row: Sequence[Any]) -> Model:
        """Fresh model instances of a row from `row`, linked as `one` links them."""
        instances: list[Model | None] = []
        for index, (link, (start, end, attnames, pk_index)) in enumerate(
            zip(self.links, self._layouts, strict=True)
        ):
            values = row[start:end]
            instance = (
                None
                if values[pk_index] is None
                else link.model.from_db(self.using, attnames, values)
            )
            relation = self._relations[index]
            owner = instances[index - 1] if index else None
            if relation is not None and owner is not None:
                relation.set_cached_value(owner, instance)
            instances.append(instance)
        first = instances[0]
        assert first is not None  # the WHERE matched a row of the first table
        return first


def column_of(field: object) -> str:
    column = getattr(field, "column", None)
    if not isinstance(column, str):
        raise ValueError(f"{field} has no column of its own")
    return column


@functools.cache
def quoted(model: type[Model], field: str | None = None, *, using: str = "default") -> str:
    """A model's table, or one of its fields' columns, quoted for hand-written SQL.

    Cached: the hand-written reads sit on per-message paths and the names never change.
    """
    quote = connections[using].ops.quote_name
    if field is None:
        return quote(model._meta.db_table)
    return quote(column_of(model._meta.get_field(field)))


def rows(sql: str, params: Sequence[object], *, using: str = "default") -> list[tuple[Any, ...]]:
    """The rows of a hand-written read, as the database driver returns them."""
    with connections[using].cursor() as cursor:
        cursor.execute(sql, list(params))  # type: ignore[arg-type]
        return list(cursor.fetchall())
