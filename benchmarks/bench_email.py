"""Email benchmark: parsing the fixture corpus, and importing it through the full service.

    .venv/bin/python benchmarks/bench_email.py [--rounds 5] [--database-url postgres://...]

Part 1 (no database): parse + classify + trim every corpus email, --rounds
times; prints emails/s, MB/s and per-email p50/p99.
Part 2: `email_import` of the corpus into a fresh database (a temporary SQLite
data directory unless --database-url is given), each round with fresh
Message-IDs so every person-written email is new (engine assessment
included), then the same bytes again (all duplicates). Prints emails/s for
both and the machine it ran on.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import load_average, machine_lines

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "channels" / "fixtures" / "eml"


def corpus() -> list[bytes]:
    return [
        path.read_bytes()
        .replace(b"CONVERSATION_ID", b"999999")
        .replace(b"OUTBOUND_MESSAGE_ID", b"none@calmdesk.localhost")
        for path in sorted(CORPUS.glob("*.eml"))
    ]


def bench_parse(emails: list[bytes], rounds: int) -> None:
    from calmdesk.channels.autoreply import classify
    from calmdesk.channels.parsing import parse_email
    from calmdesk.channels.trimming import trim_reply

    timings: list[float] = []
    started = time.perf_counter()
    for _ in range(rounds):
        for raw in emails:
            begin = time.perf_counter()
            parsed = parse_email(raw)
            classify(parsed)
            trim_reply(parsed.text)
            timings.append(time.perf_counter() - begin)
    elapsed = time.perf_counter() - started
    megabytes = rounds * sum(len(raw) for raw in emails) / 1e6
    timings.sort()
    print(
        f"parse+classify+trim: {len(timings)} emails in {elapsed:.2f} s = "
        f"{len(timings) / elapsed:.0f} emails/s, {megabytes / elapsed:.1f} MB/s, "
        f"p50 {statistics.median(timings) * 1000:.1f} ms, "
        f"p99 {timings[int(len(timings) * 0.99) - 1] * 1000:.1f} ms"
    )


def bench_import(emails: list[bytes], rounds: int) -> None:
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from calmdesk.accounts.models import Organisation
    from calmdesk.channels.services import ImportOutcome, email_import

    organisation, _ = Organisation.objects.get_or_create(
        slug="email-bench", defaults={"name": "Email bench"}
    )
    batches = [
        [re.sub(rb"(?im)^(message-id:\s*<)", rb"\g<1>r%d." % n, raw) for raw in emails]
        for n in range(rounds)
    ]
    for label in ("new", "again"):
        outcomes: dict[str, int] = {}
        started = time.perf_counter()
        for batch in batches:
            for raw in batch:
                result = email_import(organisation=organisation, raw=raw)
                outcomes[result.outcome] = outcomes.get(result.outcome, 0) + 1
        elapsed = time.perf_counter() - started
        total = sum(outcomes.values())
        print(
            f"import ({label}): {total} emails in {elapsed:.2f} s = {total / elapsed:.1f} emails/s; "
            + ", ".join(f"{key} {value}" for key, value in sorted(outcomes.items()))
        )
        if label == "again":
            assert outcomes == {ImportOutcome.DUPLICATE.value: total}, outcomes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="calmdesk-bench-email-") as data_dir:
        os.environ["CALMDESK_DATA_DIR"] = data_dir
        if args.database_url:
            os.environ["CALMDESK_DATABASE_URL"] = args.database_url
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "calmdesk.config.settings")
        import django

        django.setup()
        emails = corpus()
        print(f"corpus: {len(emails)} emails, {sum(map(len, emails)) / 1e6:.2f} MB")
        bench_parse(emails, args.rounds)
        bench_import(emails, args.rounds)
    for line in machine_lines(args.database_url):
        print(line)
    print(f"load average: {load_average()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
