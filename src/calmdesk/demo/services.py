"""Load the demo organisation, Northwind Home & Energy, through the real services.

Every customer message goes through `inbound_message_receive`, so the engine
assesses it exactly as in production; replies (coached as in the reply box), notes,
assignments, blocks and status changes go through their services too, so the audit
log, the policy's escalations, incidents, notifications and follow-ups are real. The
data describes three weeks of work: each turn runs with the clock moved to its moment
(`time_machine`), so everything it causes is dated as if it had happened then, and the
worker's recurring checks then run once at the real time, as they would have.

Staff passwords are generated at load time and written, readable by the owner
only, to `<DATA_DIR>/demo-logins.json`; nothing secret is shipped in the package.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from importlib import resources
from pathlib import Path
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

import time_machine
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from calmdesk.accounts.models import Organisation, Role, Team, User
from calmdesk.audit.models import AuditEvent
from calmdesk.conversations import coaching
from calmdesk.conversations.models import (
    Channel,
    Conversation,
    Direction,
    Message,
    Priority,
    Status,
)
from calmdesk.conversations.selectors import recent_dialogue
from calmdesk.conversations.services import (
    conversation_assign,
    conversation_set_priority,
    conversation_set_status,
    inbound_message_receive,
    note_add,
    reply_send,
)
from calmdesk.customers.models import Customer, IdentityKind
from calmdesk.customers.services import (
    customer_add_identity,
    customer_find_or_create,
    customer_update_notes,
)
from calmdesk.followups.models import FollowUp, FollowUpState
from calmdesk.followups.services import followup_close
from calmdesk.incidents.models import Incident, IncidentStatus
from calmdesk.incidents.services import (
    incident_action_add,
    incident_action_complete,
    incident_transition,
)
from calmdesk.notifications.models import Notification
from calmdesk.policies.services import identity_block
from calmdesk.supervision.services import periodic_checks_run

LOGINS_FILE_NAME = "demo-logins.json"
CUSTOMER_TURN = "customer"


class DemoError(RuntimeError):
    """The demo data cannot be loaded as it stands (bad data file, clashing usernames)."""


class DemoLogin(NamedTuple):
    username: str
    password: str
    role: str


@dataclass(frozen=True)
class DemoSummary:
    organisation: Organisation
    logins: list[DemoLogin]
    conversations: int
    messages: int
    # False when the organisation was already there and nothing was loaded.
    created: bool = True


# ---------------------------------------------------------------- data files


@dataclass(frozen=True)
class StaffSpec:
    username: str
    first_name: str
    last_name: str
    role: str
    teams: tuple[str, ...]


@dataclass(frozen=True)
class CustomerSpec:
    key: str
    name: str
    emails: tuple[str, ...]
    handles: tuple[str, ...]
    value: Decimal
    since_days: int
    notes: str


@dataclass(frozen=True)
class TurnSpec:
    by: str
    after_minutes: float
    text: str = ""
    note: bool = False
    assign_to: str | None = None
    # A staff turn that blocks the address the customer writes from, with this reason.
    block_reason: str | None = None
    # A supervisor's turn that moves the conversation's latest incident to this status,
    # with `text` as the note and `action` as a follow-up action taken.
    incident_status: str | None = None
    incident_action: str = ""


@dataclass(frozen=True)
class ConversationSpec:
    key: str
    customer: str
    channel: str
    sender: str
    subject: str
    team: str | None
    assignee: str | None
    start_day: int
    start_time: time
    status: str
    priority: int | None
    turns: tuple[TurnSpec, ...]


@dataclass(frozen=True)
class DemoData:
    name: str
    slug: str
    time_zone: str
    teams: tuple[str, ...]
    staff: tuple[StaffSpec, ...]
    customers: tuple[CustomerSpec, ...]
    conversations: tuple[ConversationSpec, ...]


def demo_data() -> DemoData:
    """The packaged demo data, checked for consistency."""
    root = resources.files("calmdesk.demo") / "data"
    organisation_file = json.loads((root / "organisation.json").read_text(encoding="utf-8"))
    conversations: list[ConversationSpec] = []
    conversation_dir = root / "conversations"
    for entry in sorted(conversation_dir.iterdir(), key=lambda item: item.name):
        if not entry.name.endswith(".json"):
            continue
        for raw in json.loads(entry.read_text(encoding="utf-8")):
            conversations.append(_parse_conversation(raw, source=entry.name))
    data = _parse_organisation(organisation_file, conversations)
    _check(data)
    return data


def _require(raw: Mapping[str, Any], field: str, kind: type, where: str) -> Any:
    value = raw.get(field)
    if not isinstance(value, kind):
        raise DemoError(f"{where}: field {field!r} must be a {kind.__name__}")
    return value


def _parse_organisation(raw: Mapping[str, Any], conversations: list[ConversationSpec]) -> DemoData:
    organisation = _require(raw, "organisation", dict, "organisation.json")
    staff = tuple(
        StaffSpec(
            username=_require(item, "username", str, "staff"),
            first_name=_require(item, "first_name", str, "staff"),
            last_name=_require(item, "last_name", str, "staff"),
            role=_require(item, "role", str, "staff"),
            teams=tuple(_require(item, "teams", list, "staff")),
        )
        for item in _require(raw, "staff", list, "organisation.json")
    )
    customers = []
    for item in _require(raw, "customers", list, "organisation.json"):
        where = f"customer {item.get('key')!r}"
        try:
            value = Decimal(str(item.get("value", "0")))
        except InvalidOperation as exc:
            raise DemoError(f"{where}: value is not a number") from exc
        customers.append(
            CustomerSpec(
                key=_require(item, "key", str, where),
                name=_require(item, "name", str, where),
                emails=tuple(item.get("emails", ())),
                handles=tuple(item.get("handles", ())),
                value=value,
                since_days=int(item.get("since_days", 30)),
                notes=str(item.get("notes", "")),
            )
        )
    return DemoData(
        name=_require(organisation, "name", str, "organisation"),
        slug=_require(organisation, "slug", str, "organisation"),
        time_zone=_require(organisation, "time_zone", str, "organisation"),
        teams=tuple(_require(raw, "teams", list, "organisation.json")),
        staff=staff,
        customers=tuple(customers),
        conversations=tuple(conversations),
    )


def _parse_conversation(raw: Mapping[str, Any], *, source: str) -> ConversationSpec:
    where = f"{source}: conversation {raw.get('key')!r}"
    start = _require(raw, "start", list, where)
    if len(start) != 2 or not isinstance(start[0], int) or not isinstance(start[1], str):
        raise DemoError(f"{where}: start must be [day offset, 'HH:MM']")
    try:
        start_time = time.fromisoformat(start[1])
    except ValueError as exc:
        raise DemoError(f"{where}: {start[1]!r} is not a time of day") from exc
    turns = []
    for index, turn in enumerate(_require(raw, "turns", list, where)):
        turn_where = f"{where}, turn {index}"
        assign_to = turn.get("assign")
        block_reason = turn.get("block")
        incident_status = turn.get("incident")
        text = turn.get("text", "")
        if (
            assign_to is None
            and block_reason is None
            and incident_status is None
            and not (isinstance(text, str) and text.strip())
        ):
            raise DemoError(
                f"{turn_where}: a turn needs text (or an 'assign', a 'block' or an 'incident')"
            )
        if incident_status is not None and incident_status not in IncidentStatus.values:
            raise DemoError(f"{turn_where}: unknown incident status {incident_status!r}")
        if block_reason is not None and not (
            isinstance(block_reason, str) and block_reason.strip()
        ):
            raise DemoError(f"{turn_where}: 'block' must give the reason")
        turns.append(
            TurnSpec(
                by=_require(turn, "by", str, turn_where),
                after_minutes=float(turn.get("after", 0)),
                text=text,
                note=bool(turn.get("note", False)),
                assign_to=assign_to,
                block_reason=block_reason,
                incident_status=incident_status,
                incident_action=str(turn.get("action", "")),
            )
        )
    if not turns or turns[0].by != CUSTOMER_TURN:
        raise DemoError(f"{where}: the first turn must be the customer's")
    priority = raw.get("priority")
    return ConversationSpec(
        key=_require(raw, "key", str, where),
        customer=_require(raw, "customer", str, where),
        channel=_require(raw, "channel", str, where),
        sender=_require(raw, "from", str, where),
        subject=str(raw.get("subject", "")),
        team=raw.get("team"),
        assignee=raw.get("assignee"),
        start_day=start[0],
        start_time=start_time,
        status=_require(raw, "status", str, where),
        priority=int(priority) if priority is not None else None,
        turns=tuple(turns),
    )


def _check(data: DemoData) -> None:
    """Catch mistakes in the data files before anything is written."""
    usernames = {staff.username for staff in data.staff}
    customers_by_key = {customer.key: customer for customer in data.customers}
    if len(usernames) != len(data.staff) or len(customers_by_key) != len(data.customers):
        raise DemoError("duplicate staff usernames or customer keys in the demo data")
    for staff in data.staff:
        if staff.role not in Role.values:
            raise DemoError(f"staff {staff.username}: unknown role {staff.role!r}")
        unknown = set(staff.teams) - set(data.teams)
        if unknown:
            raise DemoError(f"staff {staff.username}: unknown teams {sorted(unknown)}")
    for customer in data.customers:
        if not customer.emails and not customer.handles:
            raise DemoError(f"customer {customer.key}: needs an email address or a chat handle")
    keys: set[str] = set()
    for conversation in data.conversations:
        where = f"conversation {conversation.key}"
        if conversation.key in keys:
            raise DemoError(f"{where}: duplicate key")
        keys.add(conversation.key)
        found = customers_by_key.get(conversation.customer)
        if found is None:
            raise DemoError(f"{where}: unknown customer {conversation.customer!r}")
        if conversation.channel not in (Channel.EMAIL, Channel.CHAT):
            raise DemoError(f"{where}: channel must be email or chat")
        identities = found.emails if conversation.channel == Channel.EMAIL else found.handles
        if conversation.sender not in identities:
            raise DemoError(f"{where}: {conversation.sender!r} is not one of the customer's")
        if conversation.team is not None and conversation.team not in data.teams:
            raise DemoError(f"{where}: unknown team {conversation.team!r}")
        if conversation.status not in Status.values:
            raise DemoError(f"{where}: unknown status {conversation.status!r}")
        if conversation.priority is not None and conversation.priority not in Priority.values:
            raise DemoError(f"{where}: unknown priority {conversation.priority!r}")
        named = (
            [conversation.assignee]
            + [t.by for t in conversation.turns]
            + [t.assign_to for t in conversation.turns]
        )
        for username in named:
            if username not in (None, CUSTOMER_TURN) and username not in usernames:
                raise DemoError(f"{where}: unknown staff member {username!r}")


# ---------------------------------------------------------------- logins file


def logins_path() -> Path:
    return Path(settings.DATA_DIR) / LOGINS_FILE_NAME


def demo_logins() -> list[DemoLogin]:
    """The demo logins written by the last load, or [] when there are none."""
    try:
        raw = json.loads(logins_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    logins = []
    for item in raw.get("logins", []) if isinstance(raw, dict) else []:
        if isinstance(item, dict) and all(
            isinstance(item.get(field), str) for field in DemoLogin._fields
        ):
            logins.append(DemoLogin(item["username"], item["password"], item["role"]))
    return logins


def _write_logins(organisation: Organisation, logins: Sequence[DemoLogin]) -> None:
    path = logins_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "organisation": organisation.name,
        "slug": organisation.slug,
        "logins": [login._asdict() for login in logins],
    }
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    # Created 0600 from the start: the passwords are never readable by others,
    # not even for the moment between writing and chmod.
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        json.dump(payload, handle, indent=2)
        handle.write("\n")
    os.chmod(temporary, 0o600)
    os.replace(temporary, path)


# ---------------------------------------------------------------- loading


def demo_load(*, reset: bool = False, progress: bool = False) -> DemoSummary:
    """Load the demo organisation; skip when it is there already unless `reset`.

    With `reset`, the demo organisation's data (and only that organisation's) is
    deleted first and everything is loaded afresh with new passwords.
    """
    data = demo_data()
    existing = Organisation.objects.filter(slug=data.slug).first()
    if existing is not None and not reset:
        return _existing_summary(existing, data)

    with transaction.atomic():
        if existing is not None:
            demo_delete(existing)
        organisation, logins = _create_organisation(data)
        with _progress_bar(len(data.conversations), enabled=progress) as advance:
            _load_customers_and_conversations(organisation, data, advance)
        # The replayed story's notifications count as emailed when they happened: the
        # first start should print the logins, not dozens of emails to demo addresses.
        Notification.objects.filter(organisation=organisation, emailed_at__isnull=True).update(
            emailed_at=F("created_at")
        )
    _write_logins(organisation, logins)
    return DemoSummary(
        organisation=organisation,
        logins=logins,
        conversations=Conversation.objects.filter(organisation=organisation).count(),
        messages=Message.objects.filter(organisation=organisation).count(),
        created=True,
    )


def demo_delete(organisation: Organisation) -> None:
    """Remove an organisation and everything in it (used by reset; demo data only)."""
    with transaction.atomic():
        Conversation.objects.filter(organisation=organisation).delete()
        Customer.objects.filter(organisation=organisation).update(merged_into=None)
        Customer.objects.filter(organisation=organisation).delete()
        AuditEvent.objects.filter(organisation=organisation).delete()
        User.objects.filter(organisation=organisation).delete()
        organisation.delete()


def _existing_summary(organisation: Organisation, data: DemoData) -> DemoSummary:
    logins = demo_logins()
    if not logins:
        # The logins file was lost (a new data directory, say): nobody could log in,
        # so give the demo staff fresh passwords rather than leave them locked out.
        logins = _reset_passwords(organisation, data)
        _write_logins(organisation, logins)
    return DemoSummary(
        organisation=organisation,
        logins=logins,
        conversations=Conversation.objects.filter(organisation=organisation).count(),
        messages=Message.objects.filter(organisation=organisation).count(),
        created=False,
    )


def _reset_passwords(organisation: Organisation, data: DemoData) -> list[DemoLogin]:
    logins = []
    users = {user.username: user for user in User.objects.filter(organisation=organisation)}
    for spec in data.staff:
        user = users.get(spec.username)
        if user is None:
            continue
        password = _new_password()
        user.set_password(password)
        user.save(update_fields=["password"])
        logins.append(DemoLogin(user.username, password, user.role))
    return logins


def _new_password() -> str:
    return secrets.token_urlsafe(12)


def _create_organisation(data: DemoData) -> tuple[Organisation, list[DemoLogin]]:
    clashing = (
        User.objects.filter(username__in=[staff.username for staff in data.staff])
        .values_list("username", flat=True)
        .order_by("username")
    )
    if clashing:
        raise DemoError(
            "cannot load the demo: these usernames already belong to another organisation: "
            + ", ".join(clashing)
        )
    organisation = Organisation.objects.create(
        name=data.name, slug=data.slug, time_zone=data.time_zone
    )
    teams = {name: Team.objects.create(organisation=organisation, name=name) for name in data.teams}
    logins = []
    for spec in data.staff:
        password = _new_password()
        user = User.objects.create_user(
            username=spec.username,
            password=password,
            first_name=spec.first_name,
            last_name=spec.last_name,
            email=f"{spec.username}@{data.slug}.example",
            organisation=organisation,
            role=spec.role,
        )
        user.teams.set([teams[name] for name in spec.teams])
        logins.append(DemoLogin(spec.username, password, spec.role))
    return organisation, logins


@contextmanager
def _progress_bar(total: int, *, enabled: bool) -> Iterator[Any]:
    if not enabled:
        yield lambda: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
    ) as bar:
        task = bar.add_task("Loading demo conversations", total=total)
        yield lambda: bar.advance(task)


class _Clock:
    """Turns the data's day offsets and minutes into past moments in the organisation's zone."""

    def __init__(self, time_zone: str) -> None:
        self.zone = ZoneInfo(time_zone)
        self.now = timezone.now()
        self.today: date = self.now.astimezone(self.zone).date()

    def moments(self, spec: ConversationSpec) -> list[datetime]:
        start = datetime.combine(
            self.today + timedelta(days=spec.start_day), spec.start_time, tzinfo=self.zone
        )
        moments = []
        at = start
        for turn in spec.turns:
            at = at + timedelta(minutes=turn.after_minutes)
            moments.append(at)
        # A conversation written as "this morning" may lie ahead when the demo is
        # loaded early in the day: move it back so its last turn is a few minutes old.
        latest_allowed = self.now - timedelta(minutes=5)
        if moments[-1] > latest_allowed:
            shift = moments[-1] - latest_allowed
            moments = [moment - shift for moment in moments]
        return moments


def _load_customers_and_conversations(
    organisation: Organisation, data: DemoData, advance: Any
) -> None:
    clock = _Clock(data.time_zone)
    users = {user.username: user for user in User.objects.filter(organisation=organisation)}
    teams = {team.name: team for team in Team.objects.filter(organisation=organisation)}
    admin = next(user for user in users.values() if user.role == Role.ADMIN)
    customers = {
        spec.key: _create_customer(organisation, spec, admin, clock) for spec in data.customers
    }
    timed = [(clock.moments(spec), spec) for spec in data.conversations]
    # Oldest first, so ids grow with time as they would in real life.
    timed.sort(key=lambda pair: pair[0][0])
    for moments, spec in timed:
        _load_conversation(
            organisation,
            spec,
            moments,
            customer=customers[spec.customer],
            users=users,
            teams=teams,
            admin=admin,
            now=clock.now,
        )
        advance()
    # What the worker would have done by now: reminders, overdue promises, customers
    # left waiting too long.
    periodic_checks_run(now=timezone.now())


def _create_customer(
    organisation: Organisation, spec: CustomerSpec, admin: User, clock: _Clock
) -> Customer:
    with time_machine.travel(clock.now - timedelta(days=spec.since_days), tick=True):
        customer = customer_find_or_create(
            organisation=organisation,
            email=spec.emails[0] if spec.emails else None,
            handle=spec.handles[0] if spec.handles else None,
            name=spec.name,
        )
        for email in spec.emails[1:]:
            customer_add_identity(
                customer=customer, kind=IdentityKind.EMAIL, value=email, actor=admin
            )
        for handle in spec.handles[1:]:
            customer_add_identity(
                customer=customer, kind=IdentityKind.HANDLE, value=handle, actor=admin
            )
        if spec.notes:
            customer_update_notes(customer=customer, notes=spec.notes, actor=admin)
    Customer.objects.filter(pk=customer.pk).update(value=spec.value)
    customer.refresh_from_db()
    return customer


def _load_conversation(
    organisation: Organisation,
    spec: ConversationSpec,
    moments: list[datetime],
    *,
    customer: Customer,
    users: Mapping[str, User],
    teams: Mapping[str, Team],
    admin: User,
    now: datetime,
) -> None:
    conversation: Conversation | None = None
    identity = (
        {"customer_email": spec.sender}
        if spec.channel == Channel.EMAIL
        else {"customer_handle": spec.sender}
    )
    for index, (turn, at) in enumerate(zip(spec.turns, moments, strict=True)):
        with time_machine.travel(at, tick=True):
            if turn.by == CUSTOMER_TURN:
                result = inbound_message_receive(
                    organisation=organisation,
                    channel=spec.channel,
                    external_id=_external_id(spec, index),
                    body_text=turn.text,
                    customer_name=customer.name,
                    subject=spec.subject,
                    conversation_id=conversation.pk if conversation else None,
                    team=teams[spec.team] if spec.team else None,
                    **identity,
                )
                conversation = result.conversation
                if index == 0 and spec.assignee:
                    assignee = users[spec.assignee]
                    conversation_assign(
                        conversation=conversation, actor=assignee, assignee=assignee
                    )
            else:
                assert conversation is not None  # the first turn is the customer's (checked)
                _staff_turn(conversation, turn, author=users[turn.by], users=users)

    assert conversation is not None
    conversation.refresh_from_db()
    actor = conversation.assignee or admin
    finished_at = moments[-1]
    if spec.status in (Status.RESOLVED, Status.CLOSED):
        finished_at = min(moments[-1] + timedelta(minutes=20), now)
    with time_machine.travel(finished_at, tick=True):
        if spec.priority is not None and conversation.priority != spec.priority:
            conversation_set_priority(
                conversation=conversation, actor=actor, priority=spec.priority
            )
        if conversation.status != spec.status:
            conversation_set_status(conversation=conversation, actor=actor, status=spec.status)
        if spec.status in (Status.RESOLVED, Status.CLOSED):
            # The data's settled cases kept their promises (by phone, say); only the
            # open ones are left to show reminders and overdue alerts.
            for followup in FollowUp.objects.filter(
                conversation=conversation, state=FollowUpState.OPEN
            ):
                followup_close(followup=followup, actor=actor)


def _staff_turn(
    conversation: Conversation, turn: TurnSpec, *, author: User, users: Mapping[str, User]
) -> None:
    if turn.assign_to is not None:
        conversation_assign(conversation=conversation, actor=author, assignee=users[turn.assign_to])
    elif turn.incident_status is not None:
        incident = Incident.objects.filter(conversation=conversation).latest("created_at", "id")
        if turn.incident_action:
            action = incident_action_add(
                incident=incident, actor=author, description=turn.incident_action
            )
            incident_action_complete(action=action, actor=author)
        incident_transition(
            incident=incident, actor=author, status=turn.incident_status, note=turn.text
        )
    elif turn.block_reason is not None:
        sender = (
            Message.objects.filter(conversation=conversation, direction=Direction.INBOUND)
            .exclude(sender=None)
            .select_related("sender")
            .latest("created_at", "id")
            .sender
        )
        assert sender is not None
        identity_block(identity=sender, actor=author, reason=turn.block_reason)
    elif turn.note:
        note_add(conversation=conversation, author=author, body_text=turn.text)
    else:
        # Coached exactly as the reply box coaches, so the reply's score is stored and
        # its promises become follow-ups.
        review = coaching.review_draft(
            turn.text,
            recent_dialogue(conversation),
            time_zone=conversation.organisation.time_zone,
        )
        reply_send(
            conversation=conversation,
            author=author,
            body_text=turn.text,
            coaching=review.stored,
        )


def _external_id(spec: ConversationSpec, index: int) -> str:
    if spec.channel == Channel.EMAIL:
        return f"<{spec.key}.{index}@mail.northwind.example>"
    return f"demo-chat-{spec.key}-{index}"


def demo_counts(organisation: Organisation) -> dict[str, int]:
    """Messages of the organisation by direction, for summaries."""
    return {
        direction: Message.objects.filter(organisation=organisation, direction=direction).count()
        for direction in Direction.values
    }
