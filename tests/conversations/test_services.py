from __future__ import annotations

import json
import threading
from collections.abc import Callable

import pytest
from django.db import connection as thread_connection

from calmdesk.accounts.models import Organisation, Team, User
from calmdesk.audit.models import AuditEvent
from calmdesk.conversations.models import Conversation, Direction, Message, Priority, Status
from calmdesk.conversations.services import (
    ConversationError,
    ConversationMismatch,
    conversation_assign,
    conversation_set_priority,
    conversation_set_status,
    inbound_message_receive,
    note_add,
    reply_send,
)
from calmdesk.customers.models import ContactIdentity, Customer

pytestmark = pytest.mark.django_db


def receive(org: Organisation, external_id: str, body: str, **kwargs: object):
    kwargs.setdefault("customer_email", "Pat@Example.com")
    return inbound_message_receive(
        organisation=org, channel="api", external_id=external_id, body_text=body, **kwargs
    )


def test_first_message_creates_customer_conversation_and_assessment(org: Organisation) -> None:
    result = receive(org, "m-1", "Where is my parcel? It was due on Monday.", subject="Parcel")

    assert result.created is True
    assert result.conversation.subject == "Parcel"
    assert result.conversation.status == Status.NEW
    assert result.conversation.waiting_since is not None
    identity = ContactIdentity.objects.get(customer=result.customer)
    assert identity.value == "pat@example.com"  # normalised
    assert result.message.direction == Direction.INBOUND
    assert set(result.message.assessment["scores"]) >= {"anger", "abuse", "threat", "churn"}


def test_same_external_id_is_stored_once(org: Organisation) -> None:
    first = receive(org, "dup-1", "Hello, my invoice is wrong.")
    again = receive(org, "dup-1", "Hello, my invoice is wrong.")

    assert again.created is False
    assert again.message.pk == first.message.pk
    assert Message.objects.count() == 1
    assert Conversation.objects.count() == 1


def test_a_redelivery_is_answered_even_when_what_it_names_changed(org: Organisation) -> None:
    opened = receive(org, "open-1", "My order never came.")
    follow_up = receive(
        org,
        "more-1",
        "Any news?",
        conversation_id=opened.conversation.pk,
        customer_email="pat@example.com",
    )
    customers_before = Customer.objects.count()

    # Redelivered under another address, which would not match the conversation's customer:
    # still the stored message, and nothing new is kept (no customer for the new address).
    again = receive(
        org,
        "more-1",
        "Any news?",
        conversation_id=opened.conversation.pk,
        customer_email="someone.else@example.com",
    )

    assert again.created is False
    assert again.message.pk == follow_up.message.pk
    assert Customer.objects.count() == customers_before
    assert Message.objects.count() == 2
    # Without a stored message the same mismatch is still an error.
    with pytest.raises(ConversationMismatch):
        receive(
            org,
            "more-2",
            "Any news?",
            conversation_id=opened.conversation.pk,
            customer_email="someone.else@example.com",
        )


def test_same_external_id_in_another_channel_or_org_is_a_new_message(
    org: Organisation, other_org: Organisation
) -> None:
    receive(org, "x-1", "First")
    inbound_message_receive(
        organisation=org,
        channel="email",
        external_id="x-1",
        body_text="First",
        customer_email="p@e.com",
    )
    inbound_message_receive(
        organisation=other_org,
        channel="api",
        external_id="x-1",
        body_text="First",
        customer_email="p@e.com",
    )
    assert Message.objects.count() == 3


def test_follow_up_message_joins_conversation_and_reopens_it(
    org: Organisation, agent_a: User
) -> None:
    first = receive(org, "c-1", "My refund has not arrived.")
    conversation_set_status(conversation=first.conversation, actor=agent_a, status=Status.RESOLVED)
    second = receive(org, "c-2", "It still has not arrived!", conversation_id=first.conversation.pk)

    assert second.conversation.pk == first.conversation.pk
    second.conversation.refresh_from_db()
    assert second.conversation.status == Status.OPEN
    assert second.conversation.resolved_at is None
    assert second.conversation.messages.count() == 2


def test_conversation_of_another_customer_is_refused_and_nothing_is_stored(
    org: Organisation,
) -> None:
    first = receive(org, "o-1", "Hi", customer_email="one@example.com")
    with pytest.raises(ConversationMismatch):
        receive(
            org,
            "o-2",
            "Hijack",
            customer_email="two@example.com",
            conversation_id=first.conversation.pk,
        )
    assert Message.objects.count() == 1
    assert not ContactIdentity.objects.filter(value="two@example.com").exists()


def test_angry_threatening_message_raises_risk_and_priority(org: Organisation) -> None:
    calm = receive(
        org,
        "r-1",
        "Could you tell me when the shop opens on Sunday?",
        customer_email="calm@example.com",
    )
    angry = receive(
        org,
        "r-2",
        "THIRD time I'm writing!!! You useless idiots stole my money. I'm calling my lawyer "
        "and if I see your driver again I will smash his face in.",
        customer_email="angry@example.com",
    )
    assert angry.conversation.risk > calm.conversation.risk
    assert angry.conversation.risk >= 0.6
    assert angry.conversation.priority >= Priority.HIGH
    assert angry.message.anger > calm.message.anger


def test_hostile_html_is_sanitised_and_text_kept(org: Organisation) -> None:
    result = receive(
        org,
        "h-1",
        "",
        body_html='<p onclick="steal()">Hi <script>alert(1)</script><a href="javascript:x()">link</a>'
        '<img src="https://tracker.example/pixel.gif"></p>',
    )
    html = result.message.body_html
    assert "<script" not in html
    assert "onclick" not in html
    assert "javascript:" not in html
    assert "tracker.example" not in html
    assert "Hi" in result.message.body_text


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"channel": "fax"}, "unknown channel"),
        ({"external_id": "  "}, "external_id"),
        ({"body_text": "   "}, "empty"),
        ({"customer_email": None}, "email address or a chat handle"),
    ],
)
def test_bad_input_is_refused_clearly(org: Organisation, kwargs: dict, message: str) -> None:
    args: dict[str, object] = {
        "organisation": org,
        "channel": "api",
        "external_id": "b-1",
        "body_text": "Hello",
        "customer_email": "p@example.com",
        **kwargs,
    }
    with pytest.raises(ValueError, match=message):
        inbound_message_receive(**args)  # type: ignore[arg-type]
    assert Message.objects.count() == 0
    assert Customer.objects.count() == 0


def test_reply_clears_waiting_sets_pending_and_is_audited(org: Organisation, agent_a: User) -> None:
    conversation = receive(org, "p-1", "Where is my order?").conversation
    reply = reply_send(
        conversation=conversation,
        author=agent_a,
        body_text="I'm sorry for the wait. I'll check with the courier and write back by 3pm.",
        coaching={
            "score": 80,
            "promises": [{"text": "write back by 3pm", "due": "2026-01-01T15:00:00Z"}],
        },
    )
    conversation.refresh_from_db()
    assert reply.direction == Direction.OUTBOUND
    assert conversation.waiting_since is None
    assert conversation.status == Status.PENDING_CUSTOMER
    assert conversation.assignee == agent_a
    assert conversation.promises[0]["message_id"] == reply.pk
    assert AuditEvent.objects.filter(
        action="conversation.replied", target_id=conversation.pk
    ).exists()
    with pytest.raises(ConversationError):
        reply_send(conversation=conversation, author=agent_a, body_text="   ")


def test_note_is_internal_and_does_not_clear_waiting(org: Organisation, agent_a: User) -> None:
    conversation = receive(org, "n-1", "Help please").conversation
    note = note_add(conversation=conversation, author=agent_a, body_text="Customer called twice.")
    conversation.refresh_from_db()
    assert note.direction == Direction.NOTE
    assert conversation.waiting_since is not None


def test_assign_checks_organisation_and_audits(
    org: Organisation,
    other_org: Organisation,
    agent_a: User,
    team_b: Team,
    make_user: Callable[..., User],
) -> None:
    conversation = receive(org, "a-1", "Help").conversation
    conversation_assign(conversation=conversation, actor=agent_a, assignee=agent_a, team=team_b)
    conversation.refresh_from_db()
    assert conversation.assignee == agent_a
    assert conversation.team == team_b
    event = AuditEvent.objects.get(action="conversation.assigned")
    assert event.data["after"] == {"assignee_id": agent_a.pk, "team_id": team_b.pk}

    outsider = make_user("otto", organisation=other_org)
    with pytest.raises(ConversationError, match="another organisation"):
        conversation_assign(conversation=conversation, actor=agent_a, assignee=outsider)


def test_status_and_priority_changes_are_validated_and_audited(
    org: Organisation, agent_a: User
) -> None:
    conversation = receive(org, "s-1", "Help").conversation
    conversation_set_status(conversation=conversation, actor=agent_a, status=Status.RESOLVED)
    assert conversation.resolved_at is not None
    conversation_set_priority(conversation=conversation, actor=agent_a, priority=Priority.URGENT)
    assert list(
        AuditEvent.objects.filter(target_id=conversation.pk).values_list("action", flat=True)
    ) == ["conversation.priority_changed", "conversation.status_changed"]
    with pytest.raises(ConversationError):
        conversation_set_status(conversation=conversation, actor=agent_a, status="lost")
    with pytest.raises(ConversationError):
        conversation_set_priority(conversation=conversation, actor=agent_a, priority=99)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_delivery_of_the_same_message_stores_it_once(org: Organisation) -> None:
    threads_count = 8
    barrier = threading.Barrier(threads_count)
    results: list[tuple[int, bool]] = []
    errors: list[BaseException] = []

    def deliver() -> None:
        try:
            barrier.wait()
            result = receive(
                org,
                "race-1",
                "I have been charged twice, fix it now!",
                customer_email="race@example.com",
            )
            results.append((result.message.pk, result.created))
        except BaseException as exc:
            errors.append(exc)
        finally:
            # Persistent connections (CONN_MAX_AGE) outlive close_old_connections; a thread's
            # open connection would keep the test database from being dropped at teardown.
            thread_connection.close()

    threads = [threading.Thread(target=deliver) for _ in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert Message.objects.filter(external_id="race-1").count() == 1
    assert Conversation.objects.count() == 1
    assert Customer.objects.count() == 1
    assert len({pk for pk, _ in results}) == 1
    assert sum(created for _, created in results) == 1


def test_receiving_into_a_long_thread_costs_no_more_queries_than_into_a_short_one(
    org: Organisation, agent_a: User
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    first = receive(org, "q-0", "My parcel is late.", customer_email="q@example.com")
    conversation_id = first.conversation.pk

    def follow_up(external_id: str) -> int:
        with CaptureQueriesContext(connection) as captured:
            receive(
                org,
                external_id,
                "Still nothing, where is it?",
                customer_email="q@example.com",
                conversation_id=conversation_id,
            )
        return len(captured.captured_queries)

    short = follow_up("q-1")
    for number in range(15):
        reply_send(conversation=first.conversation, author=agent_a, body_text=f"Checking {number}.")
        receive(
            org,
            f"q-fill-{number}",
            "And?",
            customer_email="q@example.com",
            conversation_id=conversation_id,
        )
    assert follow_up("q-2") == short


def test_the_engine_reads_the_newest_twelve_dialogue_messages_and_never_notes(
    org: Organisation, agent_a: User
) -> None:
    from calmdesk.conversations.reading import HISTORY_MESSAGES, stored_history

    first = receive(org, "w-0", "My parcel is late.", customer_email="w@example.com")
    conversation = first.conversation
    for number in range(8):
        reply_send(conversation=conversation, author=agent_a, body_text=f"Checking {number}.")
        note_add(conversation=conversation, author=agent_a, body_text=f"Internal {number}")
        receive(
            org,
            f"w-{number + 1}",
            f"Still waiting ({number})",
            customer_email="w@example.com",
            conversation_id=conversation.pk,
        )

    history = stored_history(conversation.pk)

    dialogue = [
        m
        for m in Message.objects.filter(conversation=conversation).order_by("created_at", "id")
        if m.direction != Direction.NOTE
    ][-HISTORY_MESSAGES:]
    assert [(turn["role"], turn["text"]) for turn in history] == [
        ("customer" if m.direction == Direction.INBOUND else "agent", m.body_text) for m in dialogue
    ]
    assert all("Internal" not in turn["text"] for turn in history)
    # Each customer turn carries the scores it was given on arrival; agent turns none.
    for turn, message in zip(history, dialogue, strict=True):
        if message.direction == Direction.INBOUND:
            assert turn["scores"] == message.assessment["scores"]
        else:
            assert "scores" not in turn


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_first_messages_from_one_new_address_make_one_customer(
    org: Organisation,
) -> None:
    # Different messages (not redeliveries) from an address nobody has seen, all at once:
    # every request creates a customer, one attaches the address, and the others must
    # join that customer rather than leave records nobody can reach.
    threads_count = 6
    barrier = threading.Barrier(threads_count)
    customers: list[int] = []
    errors: list[BaseException] = []

    def deliver(number: int) -> None:
        try:
            barrier.wait()
            result = receive(
                org,
                f"first-{number}",
                "Hello, my order has not arrived.",
                customer_email="newcomer@example.com",
            )
            customers.append(result.customer.pk)
        except BaseException as exc:
            errors.append(exc)
        finally:
            # Persistent connections (CONN_MAX_AGE) outlive close_old_connections; a thread's
            # open connection would keep the test database from being dropped at teardown.
            thread_connection.close()

    threads = [threading.Thread(target=deliver, args=(n,)) for n in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert Customer.objects.count() == 1
    assert set(customers) == {Customer.objects.get().pk}
    identity = ContactIdentity.objects.get(value="newcomer@example.com")
    assert Message.objects.filter(sender=identity).count() == threads_count


def test_receiving_stays_within_its_query_budget(
    org: Organisation, django_assert_max_num_queries: Callable[..., object]
) -> None:
    # Every delivery pays these queries; benchmarks/bench_ingest.py shows what each costs.
    # A first contact: duplicate check, identity lookup, customer, identity (in a
    # savepoint), conversation, message, webhook subscriptions, policy, policy state; the
    # transaction is a savepoint of the test's own, two statements more.
    with django_assert_max_num_queries(13):  # type: ignore[operator]
        first = receive(org, "budget-1", "Where is my parcel?", customer_email="b@example.com")
    # A follow-up also locks the conversation and its policy state, reads the recent
    # dialogue, checks for a block on the sender and counts the customer's recent cases.
    with django_assert_max_num_queries(14):  # type: ignore[operator]
        receive(
            org,
            "budget-2",
            "Still nothing. Where is it?",
            customer_email="b@example.com",
            conversation_id=first.conversation.pk,
        )


def test_a_follow_up_is_read_against_its_thread_as_the_engine_reads_it(
    org: Organisation, agent_a: User
) -> None:
    # Receive hands the engine the scores each earlier message got on arrival instead of
    # its text alone; the reading must be the one the engine gives the plain thread.
    from calmdesk.engine import assess

    first = receive(org, "t-1", "Where is my parcel?", customer_email="t@example.com")
    reply_send(conversation=first.conversation, author=agent_a, body_text="Let me check.")
    second = receive(
        org,
        "t-2",
        "THIRD time asking, this is a joke. I am furious!!",
        customer_email="t@example.com",
        conversation_id=first.conversation.pk,
    )
    third = receive(
        org,
        "t-3",
        "Still nothing. I want my money back.",
        customer_email="t@example.com",
        conversation_id=first.conversation.pk,
    )
    thread = [
        ("customer", "Where is my parcel?"),
        ("agent", "Let me check."),
        ("customer", second.message.body_text),
    ]
    expected = assess("Still nothing. I want my money back.", history=thread).to_dict()
    assert third.message.assessment == json.loads(json.dumps(expected))
    # ...and the thread it was given carried those scores, not only the texts.
    from calmdesk.conversations.reading import stored_history

    given = stored_history(first.conversation.pk)
    assert [turn.get("scores") for turn in given][:3] == [
        first.message.assessment["scores"],
        None,
        second.message.assessment["scores"],
    ]


@pytest.mark.postgres
def test_the_receive_path_runs_as_prepared_statements_on_postgresql(org: Organisation) -> None:
    # Django turns psycopg's statement preparation off unless it is configured; without it
    # PostgreSQL parses and plans every statement of every message again.
    from django.db import connection

    for number in range(3):
        receive(org, f"prep-{number}", "Where is my parcel?", customer_email=f"p{number}@x.example")
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [row[0] for row in cursor.fetchall()]
    assert any(
        statement.startswith('INSERT INTO "conversations_message"') for statement in prepared
    )
