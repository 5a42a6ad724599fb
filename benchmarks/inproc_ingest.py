"""In-process CPU cost of POST /api/v1/inbound: the ingest benchmark's mix, no server.

    .venv/bin/python benchmarks/inproc_ingest.py [--requests 600] [--rounds 3]
        [--database ingest_inproc] [--statements] [--profile FILE]

Pushes the request mix of bench_ingest.py (16 simulated clients, 30% follow-ups into a
conversation the client started, 5% exact redeliveries) through Django's own WSGI handler
(every middleware, django-ninja, auth, the receive service) on PostgreSQL, one request at a
time, and prints per request: web CPU (time.process_time of this process), the CPU the
PostgreSQL backend serving it used (from /proc, when PostgreSQL runs on this machine) and
the statements sent. Timings swing with the machine's load: compare two versions by running
them alternately, several rounds each, and read the minima.

Each run creates its own organisation (and the database when it is missing), so runs of
different versions of the code can share one database. Put another checkout first with
PYTHONPATH=/path/to/checkout/src to measure it with this script.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import load_average, machine_lines, process_tree_cpu_seconds
from bench_ingest import inbound_payload

Request = tuple[bytes, bool]  # body, is a redelivery


class Mix:
    """bench_ingest.run_client's choices, for `clients` clients taking turns."""

    def __init__(self, *, clients: int, run_id: str, texts: list[str], repeat_share: float):
        self.run_id = run_id
        self.texts = texts
        self.repeat_share = repeat_share
        self.rngs = [random.Random(number) for number in range(clients)]
        self.threads: list[list[tuple[int, str]]] = [[] for _ in range(clients)]
        self.bodies: list[dict[str, bytes]] = [{} for _ in range(clients)]
        self.sent = [0] * clients
        self.turn = 0

    def next(self) -> tuple[int, Request, dict[str, Any]]:
        number = self.turn % len(self.rngs)
        self.turn += 1
        rng = self.rngs[number]
        bodies = self.bodies[number]
        if bodies and rng.random() < self.repeat_share:
            external_id = rng.choice(list(bodies))
            return number, (bodies[external_id], True), {}
        external_id = f"inproc-{self.run_id}-{number}-{self.sent[number]}"
        self.sent[number] += 1
        payload: dict[str, Any] = inbound_payload(
            rng=rng,
            external_id=external_id,
            texts=self.texts,
            threads=self.threads[number],
            email_domain=f"{self.run_id}.inproc.example",
            number=number,
        )
        return number, (json.dumps(payload).encode("utf-8"), False), payload

    def answered(self, number: int, payload: dict[str, Any], status: int, answer: bytes) -> None:
        if not payload or status != 201:
            return
        self.bodies[number][payload["external_id"]] = json.dumps(payload).encode("utf-8")
        if "conversation_id" not in payload:
            conversation_id = int(json.loads(answer)["conversation_id"])
            self.threads[number].append((conversation_id, payload["customer"]["email"]))


def ensure_database(name: str) -> str:
    exists = subprocess.run(
        ["psql", "postgres://postgres@127.0.0.1:5432/postgres", "-Atc",
         f"select 1 from pg_database where datname = '{name}'"],  # noqa: S608 (a local name)
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    if not exists:
        subprocess.run(
            ["psql", "postgres://postgres@127.0.0.1:5432/postgres", "-qc",
             f'create database "{name}"'],
            check=True, capture_output=True,
        )  # fmt: skip
    return f"postgres://postgres@127.0.0.1:5432/{name}"


def prepare(run_id: str, *, migrate: bool = True) -> str:
    import django

    django.setup()
    from django.core.management import call_command

    from calmdesk.accounts.models import Organisation, Role, Team, User
    from calmdesk.api.services import token_create

    if migrate:
        call_command("migrate", interactive=False, verbosity=0)
    organisation = Organisation.objects.create(
        slug=f"inproc-{run_id}", name="In-process ingest", time_zone="Europe/London"
    )
    Team.objects.create(organisation=organisation, name="Inbound")
    user = User.objects.create(
        username=f"inproc-{run_id}", organisation=organisation, role=Role.ADMIN
    )
    user.set_unusable_password()
    user.save()
    return token_create(user=user, name="inproc").secret


def make_caller(token: str) -> Callable[[bytes], tuple[int, bytes]]:
    from django.core.handlers.wsgi import WSGIHandler

    handler = WSGIHandler()

    def call(body: bytes) -> tuple[int, bytes]:
        environ = {
            "REQUEST_METHOD": "POST",
            "PATH_INFO": "/api/v1/inbound",
            "SCRIPT_NAME": "",
            "QUERY_STRING": "",
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "8000",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1",
            "HTTP_HOST": "127.0.0.1:8000",
            "HTTP_AUTHORIZATION": f"Bearer {token}",
            "CONTENT_TYPE": "application/json",
            "CONTENT_LENGTH": str(len(body)),
            "wsgi.input": io.BytesIO(body),
            "wsgi.url_scheme": "http",
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": True,
            "wsgi.run_once": False,
            "wsgi.version": (1, 0),
        }
        status: list[str] = []

        def start_response(line: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            status.append(line)
            return None

        result = handler(environ, start_response)
        try:
            answer = b"".join(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        return int(status[0].split()[0]), answer

    return call


# (module, attribute) of each timed step: the names the callers look up at call time.
TIMED = (
    ("django.core.handlers.wsgi", "WSGIHandler.__call__"),
    ("ninja.operation", "Operation.run"),
    ("ninja.operation", "Operation._run_authentication"),
    ("ninja.operation", "Operation._get_values"),
    ("calmdesk.api.auth", "token_authenticate"),
    ("calmdesk.api.views.api", "inbound_message_receive"),
    ("calmdesk.conversations.services", "customer_and_identities_find_or_create"),
    ("calmdesk.conversations.services", "assess_for_storage"),
    ("calmdesk.conversations.services", "stored_history"),
    ("calmdesk.conversations.services", "insert"),
    ("calmdesk.policies.services", "inbound_policy_apply_in_transaction"),
    ("django.db.transaction", "Atomic.__exit__"),
    ("ninja.operation", "Operation._result_to_response"),
    ("django.core.handlers.base", "BaseHandler._get_response"),
    ("calmdesk.policies.services", "_Apply.finish"),
    ("calmdesk.policies.services", "_Apply.evaluate_rules"),
    ("calmdesk.policies.services", "_Apply.walk_boundaries"),
    ("calmdesk.policies.services", "_active_block_for"),
    ("calmdesk.policies.services", "policy_get"),
    ("calmdesk.customers.services", "insert"),
    ("calmdesk.policies.services", "insert"),
)


def install_timers() -> dict[str, float]:
    """Wrap each TIMED step in a process_time timer; returns the running totals."""
    import functools
    import importlib

    spent: dict[str, float] = {}

    def timed(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.process_time()
            try:
                return function(*args, **kwargs)
            finally:
                spent[name] = spent.get(name, 0.0) + time.process_time() - started

        return wrapper

    for module_name, attribute in TIMED:
        owner: Any = importlib.import_module(module_name)
        *path, last = attribute.split(".")
        for part in path:
            owner = getattr(owner, part)
        name = attribute if attribute != "insert" else f"{module_name.split('.')[1]}.insert"
        setattr(owner, last, timed(name, getattr(owner, last)))
    return spent


def backend_pid() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return int(cursor.fetchone()[0])


def run_batch(call: Callable[[bytes], tuple[int, bytes]], mix: Mix, count: int) -> dict[str, int]:
    outcomes: dict[str, int] = {}
    for _ in range(count):
        number, (body, _repeat), payload = mix.next()
        status, answer = call(body)
        if status not in (200, 201):
            raise SystemExit(f"HTTP {status}: {answer[:300]!r}")
        mix.answered(number, payload, status, answer)
        outcomes[str(status)] = outcomes.get(str(status), 0) + 1
    return outcomes


def callgrind(args: argparse.Namespace) -> int:
    """Instructions per request: this script again under callgrind, counting only the
    measured requests (instrumentation is switched on around them), so the start-up and
    the warm-up run at valgrind's uninstrumented speed and count for nothing."""
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    with tempfile.TemporaryDirectory(prefix="inproc_ingest_") as scratch:
        out = Path(scratch) / "callgrind.out"
        command = [
            "valgrind", "--tool=callgrind", "--instr-atstart=no",
            f"--callgrind-out-file={out}", sys.executable, __file__,
            "--database", args.database, "--no-migrate", "--under-callgrind",
            "--warmup", str(args.warmup), "--requests", str(args.requests), "--rounds", "1",
            "--json",
        ]  # fmt: skip
        subprocess.run(command, check=True, capture_output=True)
        totals = [
            int(line.split()[1])
            for line in out.read_text().splitlines()
            if line.startswith("totals:")
        ]
    if not totals:
        raise SystemExit("callgrind wrote no totals")
    print(f"callgrind:  {totals[0] / args.requests:,.0f} instructions per request")
    return 0


def instrumentation(on: bool) -> None:
    """Switch callgrind's instrumentation of this process on or off (returns when done)."""
    subprocess.run(
        ["callgrind_control", "-i", "on" if on else "off", str(os.getpid())],
        check=True,
        capture_output=True,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=600, help="per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=150)
    parser.add_argument("--database", default="ingest_inproc")
    parser.add_argument("--statements", action="store_true", help="also count statements")
    parser.add_argument("--profile", default=None, help="write a cProfile of one round here")
    parser.add_argument(
        "--breakdown", action="store_true", help="CPU of the main steps (timers around them)"
    )
    parser.add_argument(
        "--callgrind",
        action="store_true",
        help="instructions per request instead (valgrind; --requests less the same run with 0)",
    )
    parser.add_argument("--no-migrate", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--under-callgrind", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--json", action="store_true", help="print one JSON line of results")
    args = parser.parse_args()

    os.environ["CALMDESK_DATABASE_URL"] = ensure_database(args.database)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "calmdesk.config.settings")
    if args.callgrind:
        return callgrind(args)
    run_id = uuid.uuid4().hex[:10]
    token = prepare(run_id, migrate=not args.no_migrate)
    from importlib import resources

    import calmdesk

    raw = json.loads(
        (resources.files("calmdesk.demo") / "data" / "bulk_templates.json").read_text("utf-8")
    )
    rng = random.Random(7)
    texts = [
        text.format(
            order=f"NW-{rng.randrange(100000, 999999)}",
            amount=f"{rng.randrange(20, 900)}.00",
            days=rng.randrange(2, 28),
        )
        for text in raw["customer"]
    ]
    mix = Mix(clients=16, run_id=run_id, texts=texts, repeat_share=0.05)
    call = make_caller(token)
    spent: dict[str, float] = {}
    if args.breakdown:
        spent = install_timers()
    run_batch(call, mix, args.warmup)
    spent.clear()

    web: list[float] = []
    database: list[float] = []
    outcomes: dict[str, int] = {}
    for _ in range(args.rounds if args.requests else 0):
        pid = backend_pid()
        db_before = process_tree_cpu_seconds(pid)
        started = time.process_time()
        if args.profile:
            import cProfile

            profiler = cProfile.Profile(time.process_time)
            profiler.enable()
        if args.under_callgrind:
            instrumentation(on=True)
        batch = run_batch(call, mix, args.requests)
        if args.under_callgrind:
            instrumentation(on=False)
        for status, count in batch.items():
            outcomes[status] = outcomes.get(status, 0) + count
        if args.profile:
            profiler.disable()
            profiler.dump_stats(args.profile)
            args.profile = None
        web.append((time.process_time() - started) / args.requests * 1000)
        if backend_pid() == pid:
            database.append((process_tree_cpu_seconds(pid) - db_before) / args.requests * 1000)

    measured = max(1, args.rounds * args.requests)
    breakdown = {name: round(value / measured * 1000, 3) for name, value in spent.items()}
    statements = None
    if args.statements:
        from django.db import connection

        sent: list[str] = []

        def count(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
            sent.append(sql)
            return execute(sql, params, many, context)

        with connection.execute_wrapper(count):
            run_batch(call, mix, 200)
        statements = len(sent) / 200

    result = {
        "code": str(Path(calmdesk.__file__).resolve().parents[1]),
        "web_ms": [round(value, 3) for value in web],
        "pg_ms": [round(value, 3) for value in database],
        "statements": statements,
        "breakdown": breakdown,
        "outcomes": outcomes,
        "load": load_average(),
    }
    if args.json:
        print(json.dumps(result))
        return 0
    for line in machine_lines(os.environ["CALMDESK_DATABASE_URL"]):
        print(line)
    print(f"code:       {result['code']}")
    print(f"requests:   {args.rounds} rounds of {args.requests} ({outcomes})")
    print(
        f"web CPU:    min {min(web):.2f} median {statistics.median(web):.2f} ms/request "
        f"({', '.join(f'{value:.2f}' for value in web)})"
    )
    if database:
        print(
            f"PG backend: min {min(database):.2f} median {statistics.median(database):.2f} "
            f"ms/request ({', '.join(f'{value:.2f}' for value in database)})"
        )
    if statements is not None:
        print(f"statements: {statements:.2f} per request")
    for name, value in breakdown.items():
        print(f"  {name:<40} {value:6.3f} ms/request")
    print(f"load avg:   {result['load']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
