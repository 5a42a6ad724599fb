"""Bulk data for benchmarks: many conversations and messages, fast and reproducible.

The demo goes through the services one message at a time; that is far too slow
for a million messages. Here a small pool of template messages is assessed by
the engine once, and rows are written with `bulk_create` in batches, one
transaction per batch of conversations. The conversation's stored reading
(risk, anger, topic, trajectory, waiting time) is derived from its messages the
same way the receive service derives it, so the inbox sees realistic data.

The same seed, start state and `now` give the same data.
"""

from __future__ import annotations

import bisect
import itertools
import json
import random
import time as wall_clock
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from importlib import resources
from typing import Any

from django.db import connection, transaction
from django.db.models import JSONField
from django.utils import timezone

from calmdesk.accounts.models import Organisation, Role, Team, User
from calmdesk.conversations.models import (
    Channel,
    Conversation,
    Direction,
    Message,
    Priority,
    Status,
)
from calmdesk.conversations.reading import risk_from_scores
from calmdesk.customers.models import ContactIdentity, Customer, IdentityKind

TEAM_NAMES = ("Billing", "Deliveries", "Technical", "Accounts")
AGENTS_PER_TEAM = 6
# Conversations whose last message is older than this are mostly finished.
SETTLED_AFTER = timedelta(days=7)
SETTLED_SHARE = 0.85
ROWS_PER_INSERT = 2000


class GenerateError(ValueError):
    """The numbers asked for cannot be generated."""


@dataclass(frozen=True)
class GenerateSummary:
    organisation: Organisation
    customers: int
    conversations: int
    messages: int
    seconds: float


@dataclass(frozen=True)
class _CustomerTemplate:
    text: str
    assessment: dict[str, Any]
    assessment_json: str
    anger: float
    risk: float
    topic: str
    customer_type: str
    escalate: bool


@dataclass(frozen=True)
class _Templates:
    customer: tuple[_CustomerTemplate, ...]
    agent: tuple[str, ...]
    note: tuple[str, ...]


def _fill(text: str, rng: random.Random) -> str:
    return text.format(
        order=f"NW-{rng.randrange(100000, 999999)}",
        amount=f"{rng.randrange(20, 900)}.{rng.randrange(0, 100):02d}",
        days=rng.randrange(2, 28),
    )


def _load_templates() -> _Templates:
    from calmdesk.engine import assess

    raw = json.loads(
        (resources.files("calmdesk.demo") / "data" / "bulk_templates.json").read_text("utf-8")
    )
    example = random.Random(0)
    customer = []
    for text in raw["customer"]:
        # Assessed once, with example values in the placeholders: order numbers
        # and amounts do not change what the engine reads.
        assessment: dict[str, Any] = assess(_fill(text, example)).to_dict()
        scores = assessment.get("scores", {})
        type_info = assessment.get("customer_type") or {}
        customer.append(
            _CustomerTemplate(
                text=text,
                assessment=assessment,
                assessment_json=json.dumps(assessment),
                anger=float(scores.get("anger", 0.0)),
                risk=risk_from_scores(scores),
                topic=str(assessment.get("topic") or "other"),
                customer_type=str(type_info.get("type") or "none"),
                escalate=bool((assessment.get("escalate") or {}).get("recommended")),
            )
        )
    return _Templates(customer=tuple(customer), agent=tuple(raw["agent"]), note=tuple(raw["note"]))


@dataclass
class _Staff:
    teams: list[Team]
    agents_by_team: dict[int, list[User]]
    anyone: list[User]


def _organisation_with_staff(slug: str) -> tuple[Organisation, _Staff]:
    organisation, _ = Organisation.objects.get_or_create(
        slug=slug,
        defaults={"name": f"Benchmark organisation {slug}", "time_zone": "Europe/London"},
    )
    teams = list(Team.objects.filter(organisation=organisation).order_by("id"))
    if not teams:
        teams = [Team.objects.create(organisation=organisation, name=name) for name in TEAM_NAMES]
    staff = list(User.objects.filter(organisation=organisation).order_by("id"))
    if not staff:
        staff = _create_staff(organisation, slug, teams)
    agents_by_team: dict[int, list[User]] = {team.pk: [] for team in teams}
    for user in User.objects.filter(organisation=organisation).prefetch_related("teams"):
        for team in user.teams.all():
            if user.role == Role.AGENT:
                agents_by_team.setdefault(team.pk, []).append(user)
    for members in agents_by_team.values():
        members.sort(key=lambda user: user.pk)
    return organisation, _Staff(teams=teams, agents_by_team=agents_by_team, anyone=staff)


def _create_staff(organisation: Organisation, slug: str, teams: list[Team]) -> list[User]:
    created = []

    def make(username: str, role: str, member_of: Sequence[Team]) -> None:
        # No usable password: benchmark staff are logged in by the benchmark itself.
        user = User(username=username, organisation=organisation, role=role)
        user.set_unusable_password()
        user.save()
        user.teams.set(member_of)
        created.append(user)

    for team in teams:
        for number in range(1, AGENTS_PER_TEAM + 1):
            make(f"{slug}-{team.name.lower()}-{number}", Role.AGENT, [team])
        make(f"{slug}-{team.name.lower()}-lead", Role.SUPERVISOR, [team])
    make(f"{slug}-admin", Role.ADMIN, [])
    return created


@contextmanager
def _keep_given_timestamps() -> Iterator[None]:
    """bulk_create runs pre_save, which stamps auto_now(_add) fields with the current time.

    The generated rows carry their own (past) times, so those fields are switched
    off for the duration and restored afterwards.
    """
    fields: list[Any] = [
        Conversation._meta.get_field("created_at"),
        Conversation._meta.get_field("updated_at"),
        Message._meta.get_field("created_at"),
        Customer._meta.get_field("created_at"),
        ContactIdentity._meta.get_field("created_at"),
    ]
    saved = [(field, field.auto_now, field.auto_now_add) for field in fields]
    for field in fields:
        field.auto_now = field.auto_now_add = False
    try:
        yield
    finally:
        for field, auto_now, auto_now_add in saved:
            field.auto_now, field.auto_now_add = auto_now, auto_now_add


def _message_counts(conversations: int, messages: int, rng: random.Random) -> list[int]:
    """How many messages each conversation gets: at least one, a long tail, summing exactly."""
    weights = list(itertools.accumulate(rng.lognormvariate(0.0, 0.7) for _ in range(conversations)))
    total = weights[-1]
    counts = [1] * conversations
    for _ in range(messages - conversations):
        counts[bisect.bisect_left(weights, rng.random() * total)] += 1
    return counts


_NEXT_DIRECTION: dict[str, tuple[tuple[str, ...], tuple[float, ...]]] = {
    Direction.INBOUND: (
        (Direction.OUTBOUND, Direction.INBOUND, Direction.NOTE),
        (0.75, 0.15, 0.10),
    ),
    Direction.OUTBOUND: (
        (Direction.INBOUND, Direction.NOTE, Direction.OUTBOUND),
        (0.80, 0.10, 0.10),
    ),
    Direction.NOTE: ((Direction.OUTBOUND, Direction.INBOUND), (0.70, 0.30)),
}


def generate_bulk(
    *,
    conversations: int,
    messages: int,
    org_slug: str = "bench",
    seed: int = 0,
    days: int = 365,
    batch_conversations: int = 2000,
    now: datetime | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> GenerateSummary:
    """Add `conversations` conversations holding `messages` messages to an organisation.

    The organisation (with teams and staff) is created when it does not exist.
    Runs append: external ids and identities continue from what is already there.
    `on_progress` is called with the number of messages written in each batch.
    """
    if conversations < 1:
        raise GenerateError("--conversations must be at least 1")
    if messages < conversations:
        raise GenerateError("--messages must be at least --conversations (one message each)")
    if days < 1:
        raise GenerateError("--days must be at least 1")
    started = wall_clock.perf_counter()
    templates = _load_templates()
    rng = random.Random(seed)
    now = now or timezone.now()
    organisation, staff = _organisation_with_staff(org_slug)
    offset = Conversation.objects.filter(organisation=organisation).count()
    counts = _message_counts(conversations, messages, rng)

    with _keep_given_timestamps():
        customer_ids = _create_customers(organisation, max(1, conversations // 3), rng, now)
        # Start times sorted, so ids grow with time as they would in real life.
        span = days * 86400.0
        starts = sorted(now - timedelta(seconds=rng.random() * span) for _ in counts)
        for first in range(0, conversations, batch_conversations):
            batch = range(first, min(first + batch_conversations, conversations))
            with transaction.atomic():
                written = _write_batch(
                    organisation=organisation,
                    staff=staff,
                    templates=templates,
                    rng=rng,
                    now=now,
                    numbers=batch,
                    offset=offset,
                    seed=seed,
                    counts=counts,
                    starts=starts,
                    customer_ids=customer_ids,
                )
            if on_progress is not None:
                on_progress(written)
    return GenerateSummary(
        organisation=organisation,
        customers=len(customer_ids),
        conversations=conversations,
        messages=messages,
        seconds=wall_clock.perf_counter() - started,
    )


def _create_customers(
    organisation: Organisation, how_many: int, rng: random.Random, now: datetime
) -> list[int]:
    first_number = Customer.objects.filter(organisation=organisation).count()
    ids: list[int] = []
    for first in range(0, how_many, ROWS_PER_INSERT):
        with transaction.atomic():
            numbers = range(
                first_number + first, first_number + min(first + ROWS_PER_INSERT, how_many)
            )
            customers = Customer.objects.bulk_create(
                [
                    Customer(
                        organisation=organisation,
                        name=f"{rng.choice(_FIRST_NAMES)} {rng.choice(_LAST_NAMES)}",
                        value=Decimal(rng.randrange(0, 900000)) / 100,
                        created_at=now - timedelta(days=rng.randrange(30, 3000)),
                    )
                    for _ in numbers
                ]
            )
            identities = []
            for number, customer in zip(numbers, customers, strict=True):
                identities.append(
                    ContactIdentity(
                        organisation=organisation,
                        customer=customer,
                        kind=IdentityKind.EMAIL,
                        value=f"customer{number}@{organisation.slug}.example",
                        created_at=customer.created_at,
                    )
                )
                if rng.random() < 0.3:
                    identities.append(
                        ContactIdentity(
                            organisation=organisation,
                            customer=customer,
                            kind=IdentityKind.HANDLE,
                            value=f"{organisation.slug}-chat-{number}",
                            created_at=customer.created_at,
                        )
                    )
            ContactIdentity.objects.bulk_create(identities)
            ids.extend(customer.pk for customer in customers)
    return ids


def _write_batch(
    *,
    organisation: Organisation,
    staff: _Staff,
    templates: _Templates,
    rng: random.Random,
    now: datetime,
    numbers: range,
    offset: int,
    seed: int,
    counts: list[int],
    starts: list[datetime],
    customer_ids: list[int],
) -> int:
    planned: list[tuple[Conversation, list[_MessageRow]]] = []
    for number in numbers:
        planned.append(
            _plan_conversation(
                organisation=organisation,
                staff=staff,
                templates=templates,
                rng=rng,
                now=now,
                external_prefix=f"gen-{seed}-{offset + number}",
                count=counts[number],
                start=starts[number],
                customer_id=rng.choice(customer_ids),
            )
        )
    created = Conversation.objects.bulk_create(
        [conversation for conversation, _ in planned], batch_size=ROWS_PER_INSERT
    )
    rows: list[_MessageRow] = []
    for conversation, (_, conversation_messages) in zip(created, planned, strict=True):
        for row in conversation_messages:
            row.conversation_id = conversation.pk
            rows.append(row)
    _insert_messages(organisation, rows)
    return len(rows)


@dataclass(slots=True)
class _MessageRow:
    """One message to write; plain values, cheaper than a model instance per row."""

    direction: str
    channel: str
    body_text: str
    created_at: datetime
    author_id: int | None = None
    external_id: str | None = None
    template: _CustomerTemplate | None = None
    conversation_id: int = 0


def _insert_messages(organisation: Organisation, rows: list[_MessageRow]) -> None:
    if connection.vendor == "postgresql":
        _copy_messages(organisation, rows)
        return
    Message.objects.bulk_create(
        [
            Message(
                organisation=organisation,
                conversation_id=row.conversation_id,
                direction=row.direction,
                author_id=row.author_id,
                channel=row.channel,
                external_id=row.external_id,
                body_text=row.body_text,
                created_at=row.created_at,
                assessment=row.template.assessment if row.template else None,
                anger=row.template.anger if row.template else 0.0,
                risk=row.template.risk if row.template else 0.0,
            )
            for row in rows
        ],
        batch_size=ROWS_PER_INSERT,
    )


def _copy_messages(organisation: Organisation, rows: list[_MessageRow]) -> None:
    """PostgreSQL's COPY: several times faster than INSERT for a million rows.

    Columns this module does not know (added to Message later) get their
    model default, so a new field with a default does not break the generator.
    """
    known = (
        "organisation",
        "conversation",
        "direction",
        "author",
        "channel",
        "external_id",
        "body_text",
        "created_at",
        "assessment",
        "anger",
        "risk",
    )
    fields = {field.name: field for field in Message._meta.concrete_fields}
    extra_fields = [
        field for name, field in fields.items() if name not in known and not field.primary_key
    ]
    extra_values = tuple(_default_for_copy(field) for field in extra_fields)
    columns = [str(fields[name].column) for name in known]
    columns += [str(field.column) for field in extra_fields]
    statement = "COPY {} ({}) FROM STDIN".format(
        connection.ops.quote_name(Message._meta.db_table),
        ", ".join(connection.ops.quote_name(column) for column in columns),
    )
    organisation_id = organisation.pk
    with connection.cursor() as cursor, cursor.connection.cursor().copy(statement) as copy:
        for row in rows:
            template = row.template
            copy.write_row(
                (
                    organisation_id,
                    row.conversation_id,
                    row.direction,
                    row.author_id,
                    row.channel,
                    row.external_id,
                    row.body_text,
                    row.created_at,
                    template.assessment_json if template else None,
                    template.anger if template else 0.0,
                    template.risk if template else 0.0,
                    *extra_values,
                )
            )


def _default_for_copy(field: Any) -> Any:
    value = field.get_default()
    if value is None:
        if field.null:
            return None
        raise GenerateError(
            f"Message.{field.name} has no default; teach calmdesk.demo.generate about it"
        )
    if isinstance(field, JSONField):
        return json.dumps(value)
    return value


def _plan_conversation(
    *,
    organisation: Organisation,
    staff: _Staff,
    templates: _Templates,
    rng: random.Random,
    now: datetime,
    external_prefix: str,
    count: int,
    start: datetime,
    customer_id: int,
) -> tuple[Conversation, list[_MessageRow]]:
    channel = rng.choices((Channel.EMAIL, Channel.CHAT, Channel.API), weights=(0.6, 0.35, 0.05))[0]
    team = rng.choice(staff.teams) if rng.random() < 0.9 else None
    team_agents = staff.agents_by_team.get(team.pk, []) if team else []
    assignee = rng.choice(team_agents) if team_agents and rng.random() < 0.85 else None
    writers = team_agents or staff.anyone

    messages: list[_MessageRow] = []
    direction: str = Direction.INBOUND
    at = start
    # Chat turns come minutes apart, email turns hours apart.
    gap_minutes = 4.0 if channel == Channel.CHAT else 240.0
    conversation = Conversation(
        organisation=organisation,
        customer_id=customer_id,
        channel=channel,
        team=team,
        assignee=assignee,
        created_at=start,
        priority=Priority.NORMAL,
    )
    angers: list[float] = []
    risk = 0.0
    waiting_since: datetime | None = None
    last_message_at = start
    subject = ""
    for index in range(count):
        if index:
            options, weights = _NEXT_DIRECTION[direction]
            direction = rng.choices(options, weights=weights)[0]
            at = min(at + timedelta(minutes=rng.expovariate(1.0 / gap_minutes)), now)
        if direction == Direction.INBOUND:
            template = rng.choice(templates.customer)
            text = _fill(template.text, rng)
            subject = subject or text[:80]
            messages.append(
                _MessageRow(
                    direction=Direction.INBOUND,
                    channel=channel,
                    external_id=f"{external_prefix}-{index}",
                    body_text=text,
                    created_at=at,
                    template=template,
                )
            )
            angers.append(template.anger)
            risk = max(template.risk, risk * 0.5)
            conversation.topic = template.topic
            if template.customer_type != "none":
                conversation.customer_type = template.customer_type
            if template.escalate:
                conversation.priority = Priority.HIGH
            waiting_since = waiting_since or at
            last_message_at = at
        else:
            author = assignee or rng.choice(writers)
            pool = templates.agent if direction == Direction.OUTBOUND else templates.note
            messages.append(
                _MessageRow(
                    direction=direction,
                    author_id=author.pk,
                    channel=channel,
                    body_text=_fill(rng.choice(pool), rng),
                    created_at=at,
                )
            )
            if direction == Direction.OUTBOUND:
                waiting_since = None
                last_message_at = at
    conversation.subject = subject
    conversation.risk = risk
    conversation.current_anger = angers[-1]
    conversation.peak_anger = max(angers)
    conversation.trajectory = _trajectory(angers)
    conversation.last_message_at = last_message_at
    conversation.updated_at = at
    if rng.random() < 0.05:
        conversation.priority = rng.choice((Priority.LOW, Priority.URGENT))
    _settle_status(conversation, rng=rng, now=now, waiting_since=waiting_since, count=count)
    return conversation, messages


def _trajectory(angers: list[float]) -> str:
    if len(angers) < 2:
        return "steady"
    change = angers[-1] - angers[-2]
    if change > 0.15:
        return "rising"
    if change < -0.15:
        return "falling"
    return "steady"


def _settle_status(
    conversation: Conversation,
    *,
    rng: random.Random,
    now: datetime,
    waiting_since: datetime | None,
    count: int,
) -> None:
    last = conversation.last_message_at or conversation.created_at
    if now - last > SETTLED_AFTER and rng.random() < SETTLED_SHARE:
        conversation.status = rng.choice((Status.RESOLVED, Status.CLOSED))
        conversation.resolved_at = min(last + timedelta(hours=rng.uniform(0.2, 48)), now)
        conversation.waiting_since = None
        return
    conversation.waiting_since = waiting_since
    if waiting_since is None:
        conversation.status = Status.PENDING_CUSTOMER
    elif count == 1:
        conversation.status = Status.NEW
    else:
        conversation.status = rng.choice((Status.OPEN, Status.PENDING_US))


_FIRST_NAMES = (
    "Amara", "Ben", "Chloe", "Dev", "Elena", "Farid", "Gemma", "Hiro", "Isla", "Jonah",
    "Kemi", "Liam", "Maya", "Niall", "Olga", "Pavel", "Queenie", "Rosa", "Sunil", "Tess",
    "Uma", "Victor", "Wen", "Yusuf", "Zara",
)  # fmt: skip
_LAST_NAMES = (
    "Adams", "Bishop", "Chowdhury", "Doherty", "Evans", "Fraser", "Gill", "Hussain",
    "Ivanova", "Jones", "Kowalski", "Lloyd", "Murphy", "Nakamura", "O'Brien", "Patel",
    "Quinn", "Reid", "Santos", "Thompson", "Usman", "Vaughan", "Wright", "Young",
)  # fmt: skip


def count_rows(organisation: Organisation) -> tuple[int, int]:
    """(conversations, messages) of the organisation."""
    return (
        Conversation.objects.filter(organisation=organisation).count(),
        Message.objects.filter(organisation=organisation).count(),
    )
