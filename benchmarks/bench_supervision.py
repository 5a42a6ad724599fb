"""Supervision benchmark: the policy's cost per inbound message, and the follow-up check.

    .venv/bin/python benchmarks/bench_supervision.py [--messages 2000] [--followups 2000]
        [--database-url postgres://...]

Without --database-url it uses a fresh SQLite file in a temporary data directory.
Messages are assessed by the real engine once, up front, so the figures are the policy's
own cost (boundary ladder, escalation rules, writes and audit), not the engine's.

Prints, for `inbound_policy_apply`: median and p99 milliseconds per message and the
queries per message; for `followups_check`: seconds for one check over N due follow-ups
(half overdue, half due for a reminder) and per follow-up; and the machine it ran on.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import load_average, machine_lines

SAMPLE_TEXTS = (
    "Hello, could you tell me when my order will arrive? Thanks!",
    "This damn kettle broke again and I'm fed up.",
    "You are a useless idiot, fix my bill.",
    "I will see you in court, my lawyer is ready.",
    "I'm cancelling and switching to your competitor. Never again.",
    "This is the third time I've called about this and I'm furious!",
    "I know where your office is and I will hurt you.",
    "I'll post about this everywhere, one star reviews on every site.",
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--followups", type=int, default=2000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()

    workdir = tempfile.mkdtemp(prefix="calmdesk-bench-supervision-")
    os.environ["CALMDESK_DATA_DIR"] = workdir
    if args.database_url:
        os.environ["CALMDESK_DATABASE_URL"] = args.database_url
    os.environ["DJANGO_SETTINGS_MODULE"] = "calmdesk.config.settings"
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from calmdesk.accounts.models import Organisation, Role, Team, User
    from calmdesk.conversations.models import Conversation, Direction, Message
    from calmdesk.customers.models import Customer
    from calmdesk.engine import assess
    from calmdesk.followups.models import FollowUp
    from calmdesk.followups.services import followups_check
    from calmdesk.policies.services import inbound_policy_apply

    call_command("migrate", verbosity=0)
    if args.database_url:
        call_command("flush", interactive=False, verbosity=0)
    organisation = Organisation.objects.create(name="Bench", slug=f"bench-{os.getpid()}")
    team = Team.objects.create(organisation=organisation, name="Bench team")
    agent = User.objects.create_user(
        username=f"bench-agent-{os.getpid()}", organisation=organisation, role=Role.AGENT
    )
    supervisor = User.objects.create_user(
        username=f"bench-sup-{os.getpid()}", organisation=organisation, role=Role.SUPERVISOR
    )
    supervisor.teams.set([team])
    readings = [assess(text).to_dict() for text in SAMPLE_TEXTS]

    # Conversations of four messages each, like a short exchange with one customer.
    timings: list[float] = []
    queries: list[int] = []
    conversation = None
    for index in range(args.messages):
        if index % 4 == 0:
            customer = Customer.objects.create(organisation=organisation, name=f"C{index}")
            conversation = Conversation.objects.create(
                organisation=organisation,
                customer=customer,
                channel="chat",
                team=team,
                assignee=agent,
            )
        assert conversation is not None
        reading = readings[index % len(readings)]
        text = SAMPLE_TEXTS[index % len(SAMPLE_TEXTS)]
        message = Message.objects.create(
            organisation=organisation,
            conversation=conversation,
            direction=Direction.INBOUND,
            channel="chat",
            body_text=text,
            assessment=reading,
        )
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            with transaction.atomic():
                inbound_policy_apply(message=message, conversation=conversation)
            timings.append(time.perf_counter() - started)
        queries.append(len(captured.captured_queries))

    now = timezone.now()
    conversations = list(Conversation.objects.filter(organisation=organisation)[:200])
    FollowUp.objects.bulk_create(
        FollowUp(
            organisation=organisation,
            conversation=conversations[i % len(conversations)],
            due_at=now - timedelta(minutes=5) if i % 2 else now + timedelta(minutes=10),
            description=f"Promise {i}",
            created_by=agent,
            source="manual",
            promised_at=now - timedelta(hours=1),
        )
        for i in range(args.followups)
    )
    started = time.perf_counter()
    report = followups_check(now=now)
    check_seconds = time.perf_counter() - started

    ms = sorted(t * 1000 for t in timings)
    p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
    engine = connection.vendor
    print(f"database: {engine}{' (' + args.database_url + ')' if args.database_url else ''}")
    print(
        f"inbound_policy_apply: {len(ms)} messages, median {statistics.median(ms):.2f} ms, "
        f"p99 {p99:.2f} ms, queries per message median {statistics.median(queries):.0f} "
        f"(max {max(queries)})"
    )
    print(
        f"followups_check: {args.followups} due follow-ups in {check_seconds:.2f} s "
        f"({check_seconds / max(1, args.followups) * 1000:.2f} ms each): "
        f"{len(report.overdue)} overdue raised, {len(report.reminded)} reminded"
    )
    for line in machine_lines(args.database_url):
        print(line)
    print(f"load average: {load_average()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
