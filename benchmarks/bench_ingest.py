"""Ingest benchmark: concurrent clients posting /api/v1/inbound to a running calmdesk.

    .venv/bin/python benchmarks/bench_ingest.py [--clients 16] [--seconds 30]
        [--url http://127.0.0.1:8000] [--database-url postgres://...]

Without --url it creates a PostgreSQL database for the benchmark (default
`calmdesk_bench_ingest` on 127.0.0.1:5432), migrates it, and starts
`calmdesk serve` on a free port. Each client keeps one HTTP connection open
(stdlib http.client) and posts messages with unique external ids; a share of
the requests deliberately repeat an id already acknowledged, which must answer
200 with the same message id and store nothing. Afterwards every acknowledged
message is looked up in the database: each must be stored exactly once.

Prints messages/s, p50/p99 latency, errors, the verification result and the
machine it ran on. The issue's target: >= 400 messages/s at 16 clients, p99
under 150 ms, zero lost or duplicated.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import load_average, machine_lines, nproc, process_tree_cpu_seconds

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/calmdesk_bench_ingest"
BENCH_ORG = "ingest-bench"
BENCH_USER = "ingest-bench-api"


@dataclass
class ClientLog:
    latencies: list[float] = field(default_factory=list)
    # external id -> message id, for every acknowledged (201 or 200) delivery
    acknowledged: dict[str, int] = field(default_factory=dict)
    created: int = 0
    repeats_ok: int = 0
    repeats_wrong: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    first_error_body: str = ""

    def error(self, kind: str) -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1


def _customer_texts() -> list[str]:
    raw = json.loads(
        (resources.files("calmdesk.demo") / "data" / "bulk_templates.json").read_text("utf-8")
    )
    rng = random.Random(7)
    return [
        text.format(
            order=f"NW-{rng.randrange(100000, 999999)}",
            amount=f"{rng.randrange(20, 900)}.00",
            days=rng.randrange(2, 28),
        )
        for text in raw["customer"]
    ]


def inbound_payload(
    *,
    rng: random.Random,
    external_id: str,
    texts: list[str],
    threads: list[tuple[int, str]],
    email_domain: str,
    number: int,
) -> dict[str, object]:
    """One client's next new message: 30% a follow-up in a conversation it started, else a
    first contact from a new address at `email_domain` (the benchmark's request mix;
    inproc_ingest.py shares it)."""
    payload: dict[str, object] = {
        "channel": "api",
        "external_id": external_id,
        "body": rng.choice(texts),
    }
    if threads and rng.random() < 0.3:
        conversation_id, email = rng.choice(threads)
        payload["conversation_id"] = conversation_id
        payload["customer"] = {"email": email}
    else:
        email = f"customer-{number}-{rng.randrange(500)}@{email_domain}"
        payload["customer"] = {"email": email, "name": f"Bench customer {number}"}
        payload["subject"] = "Benchmark message"
    return payload


def run_client(
    *,
    number: int,
    host: str,
    port: int,
    token: str,
    run_id: str,
    stop_at: float,
    measure_from: float,
    repeat_share: float,
    texts: list[str],
    log: ClientLog,
) -> None:
    rng = random.Random(number)
    connection = http.client.HTTPConnection(host, port, timeout=30)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    threads: list[tuple[int, str]] = []  # (conversation id, customer email) this client started
    bodies: dict[str, bytes] = {}  # what was sent for each acknowledged id, to redeliver it
    sent = 0
    while True:
        now = time.perf_counter()
        if now >= stop_at:
            break
        repeat = bool(log.acknowledged) and rng.random() < repeat_share
        payload: dict[str, object]
        if repeat:
            # A redelivery: exactly the same request again.
            external_id = rng.choice(list(log.acknowledged))
            body = bodies[external_id]
            payload = {}
        else:
            external_id = f"bench-{run_id}-{number}-{sent}"
            sent += 1
            payload = inbound_payload(
                rng=rng,
                external_id=external_id,
                texts=texts,
                threads=threads,
                email_domain=f"{run_id}.bench.example",
                number=number,
            )
            body = json.dumps(payload).encode("utf-8")
        started = time.perf_counter()
        try:
            connection.request("POST", "/api/v1/inbound", body=body, headers=headers)
            response = connection.getresponse()
            answer = response.read()
        except (OSError, http.client.HTTPException) as exc:
            log.error(type(exc).__name__)
            connection.close()
            connection = http.client.HTTPConnection(host, port, timeout=30)
            continue
        elapsed = time.perf_counter() - started
        if started >= measure_from:
            log.latencies.append(elapsed)
        if response.status not in (200, 201):
            log.error(f"HTTP {response.status}")
            log.first_error_body = log.first_error_body or answer[:300].decode("utf-8", "replace")
            continue
        data = json.loads(answer)
        message_id = int(data["message_id"])
        if repeat:
            if response.status == 200 and log.acknowledged[external_id] == message_id:
                log.repeats_ok += 1
            else:
                log.repeats_wrong += 1
            continue
        if response.status != 201:
            log.error("fresh id answered 200")
        log.acknowledged[external_id] = message_id
        bodies[external_id] = body
        if started >= measure_from:
            log.created += 1
        if "conversation_id" not in payload:
            customer = payload["customer"]
            assert isinstance(customer, dict)
            threads.append((int(data["conversation_id"]), str(customer["email"])))
    connection.close()


# ---------------------------------------------------------------- set-up


def ensure_database(database_url: str) -> None:
    parts = urlsplit(database_url)
    name = parts.path.lstrip("/")
    if not re.fullmatch(r"[A-Za-z0-9_]+", name):
        raise SystemExit(f"benchmark database name {name!r}: use letters, digits and _ only")
    admin_url = parts._replace(path="/postgres").geturl()
    exists = subprocess.run(
        ["psql", admin_url, "-Atc", f"select 1 from pg_database where datname = '{name}'"],  # noqa: S608 (checked above)
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    if not exists:
        subprocess.run(
            ["psql", admin_url, "-qc", f'create database "{name}"'], check=True, capture_output=True
        )


def prepare(database_url: str) -> str:
    """Migrate, create the benchmark organisation and user, and return a fresh API token."""
    os.environ["CALMDESK_DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "calmdesk.config.settings")
    import django

    django.setup()
    from django.core.management import call_command

    from calmdesk.accounts.models import Organisation, Role, Team, User
    from calmdesk.api.services import token_create

    call_command("migrate", interactive=False, verbosity=0)
    organisation, _ = Organisation.objects.get_or_create(
        slug=BENCH_ORG, defaults={"name": "Ingest benchmark", "time_zone": "Europe/London"}
    )
    Team.objects.get_or_create(organisation=organisation, name="Inbound")
    user, created = User.objects.get_or_create(
        username=BENCH_USER, defaults={"organisation": organisation, "role": Role.ADMIN}
    )
    if created:
        user.set_unusable_password()
        user.save()
    return token_create(user=user, name="bench_ingest").secret


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def start_server(
    database_url: str, port: int, workers: int, threads: int
) -> subprocess.Popen[bytes]:
    env = {**os.environ, "CALMDESK_DATABASE_URL": database_url}
    calmdesk = shutil.which("calmdesk") or str(Path(sys.executable).with_name("calmdesk"))
    probe = subprocess.run([calmdesk, "serve", "--help"], capture_output=True, env=env)
    if probe.returncode == 0:
        command = [
            calmdesk, "serve", "--no-worker", "--no-migrate", "--host", "127.0.0.1",
            "--port", str(port), "--threads", str(threads),
        ]  # fmt: skip
        if workers:
            command += ["--workers", str(workers)]
    else:
        command = [
            str(Path(sys.executable).with_name("gunicorn")), "calmdesk.config.wsgi:application",
            "--bind", f"127.0.0.1:{port}", "--worker-class", "gthread",
            "--workers", str(workers or (os.cpu_count() or 1) + 1), "--threads", str(threads),
        ]  # fmt: skip
    print("server:  " + " ".join(command[1:] if command[0] == calmdesk else command), flush=True)
    server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server exited early with code {server.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return server
        except OSError:
            time.sleep(0.2)
    server.terminate()
    raise SystemExit("the server did not start listening within 60 s")


def verify(logs: list[ClientLog], run_id: str) -> tuple[int, int, int, int]:
    """(acknowledged, stored once as acknowledged, lost, duplicated) for this run's messages."""
    from django.db.models import Count

    from calmdesk.conversations.models import Message

    acknowledged: dict[str, int] = {}
    for log in logs:
        acknowledged.update(log.acknowledged)
    stored = Message.objects.filter(
        organisation__slug=BENCH_ORG, channel="api", external_id__startswith=f"bench-{run_id}-"
    )
    rows = dict(stored.values_list("external_id", "id"))
    duplicated = (
        stored.values("external_id").annotate(copies=Count("id")).filter(copies__gt=1).count()
    )
    lost = sum(
        1 for external_id, message_id in acknowledged.items() if rows.get(external_id) != message_id
    )
    exact = len(acknowledged) - lost
    return len(acknowledged), exact, lost, duplicated


def database_backends_cpu_seconds() -> dict[int, float]:
    """CPU seconds used so far by each PostgreSQL backend serving the benchmark database.

    Only works when PostgreSQL runs on this machine (it does for the default URL).
    """
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        pids = [row[0] for row in cursor.fetchall()]
    return {pid: process_tree_cpu_seconds(pid) for pid in pids}


def _cpu_delta(before: dict[int, float], after: dict[int, float]) -> float | None:
    if not after or not any(after.values()):
        return None
    return sum(after[pid] - before.get(pid, 0.0) for pid in after)


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return ordered[index]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument(
        "--warmup",
        type=float,
        default=10.0,
        help="seconds not measured (each server process loads Django and the engine on its first request)",
    )
    parser.add_argument("--repeat-share", type=float, default=0.05)
    parser.add_argument("--url", default=None, help="target a running server instead")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("CALMDESK_DATABASE_URL", DEFAULT_DATABASE_URL),
        help="the database the server uses (for the token and the verification)",
    )
    parser.add_argument(
        "--workers", type=int, default=0, help="server processes (default: serve's)"
    )
    parser.add_argument("--threads", type=int, default=4, help="threads per server process")
    args = parser.parse_args()

    if args.url is None and args.database_url.startswith("postgres"):
        ensure_database(args.database_url)
    token = prepare(args.database_url)
    server = None
    if args.url:
        target = urlsplit(args.url)
        host, port = target.hostname or "127.0.0.1", target.port or 80
    else:
        host, port = "127.0.0.1", free_port()
        server = start_server(args.database_url, port, args.workers, args.threads)
    texts = _customer_texts()
    run_id = uuid.uuid4().hex[:10]
    logs = [ClientLog() for _ in range(args.clients)]
    begin = time.perf_counter()
    measure_from = begin + args.warmup
    stop_at = measure_from + args.seconds
    try:
        workers = [
            threading.Thread(
                target=run_client,
                kwargs={
                    "number": number,
                    "host": host,
                    "port": port,
                    "token": token,
                    "run_id": run_id,
                    "stop_at": stop_at,
                    "measure_from": measure_from,
                    "repeat_share": args.repeat_share,
                    "texts": texts,
                    "log": log,
                },
            )
            for number, log in enumerate(logs)
        ]
        load_before = load_average()
        for worker in workers:
            worker.start()
        time.sleep(max(0.0, measure_from - time.perf_counter()))
        cpu_before = process_tree_cpu_seconds(server.pid) if server is not None else None
        database_before = database_backends_cpu_seconds()
        for worker in workers:
            worker.join()
        cpu_after = process_tree_cpu_seconds(server.pid) if server is not None else None
        database_after = database_backends_cpu_seconds()
        load_after = load_average()
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()

    latencies = [value for log in logs for value in log.latencies]
    created = sum(log.created for log in logs)
    errors: dict[str, int] = {}
    for log in logs:
        for kind, count in log.errors.items():
            errors[kind] = errors.get(kind, 0) + count
    repeats_ok = sum(log.repeats_ok for log in logs)
    repeats_wrong = sum(log.repeats_wrong for log in logs)
    acknowledged, exact, lost, duplicated = verify(logs, run_id)

    print(
        f"ingest benchmark: {args.clients} clients, {args.seconds:.0f} s measured "
        f"(after {args.warmup:.0f} s warm-up), {args.repeat_share:.0%} deliberate repeats"
    )
    for line in machine_lines(args.database_url):
        print(line)
    print(
        f"requests:   {len(latencies)} answered in the measured window "
        f"({len(latencies) / args.seconds:.0f} requests/s)"
    )
    print(f"messages/s: {created / args.seconds:.0f} new messages stored and acknowledged (201)")
    print(
        f"latency:    p50 {statistics.median(latencies) * 1000:.1f} ms, "
        f"p99 {percentile(latencies, 0.99) * 1000:.1f} ms, "
        f"max {max(latencies) * 1000:.1f} ms"
        if latencies
        else "latency:    no requests"
    )
    print(f"repeats:    {repeats_ok} answered 200 with the same message id, {repeats_wrong} wrong")
    print(f"errors:     {sum(errors.values())} {errors if errors else ''}".rstrip())
    first_error = next((log.first_error_body for log in logs if log.first_error_body), "")
    if first_error:
        print(f"            first error answer: {first_error}")
    if cpu_before is not None and cpu_after is not None and latencies:
        server_cpu = cpu_after - cpu_before
        print(
            f"server:     {server_cpu:.1f} CPU-seconds in the window, "
            f"{server_cpu / len(latencies) * 1000:.1f} ms CPU per request in the web processes"
        )
        database_cpu = _cpu_delta(database_before, database_after)
        if database_cpu is not None:
            per_request = (server_cpu + database_cpu) / len(latencies)
            print(
                f"            + {database_cpu / len(latencies) * 1000:.1f} ms in PostgreSQL "
                f"backends = {per_request * 1000:.1f} ms per request; an otherwise idle "
                f"{nproc()}-core machine could serve about {nproc() / per_request:.0f} requests/s"
            )
    print(
        f"load avg:   {load_before} before, {load_after} after "
        "(other work on the machine competes for the same cores)"
    )
    print(
        f"verify:     {acknowledged} acknowledged ids, {exact} stored exactly once as acknowledged, "
        f"{lost} lost, {duplicated} duplicated"
    )
    ok = lost == 0 and duplicated == 0 and repeats_wrong == 0 and not errors
    print("result:     OK" if ok else "result:     FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
