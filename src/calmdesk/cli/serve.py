"""`calmdesk serve`: the production web server (gunicorn), with the task worker beside it."""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
from typing import Any

from calmdesk.cli._django import setup_django


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "serve",
        help="run calmdesk's web server (gunicorn) and a background worker",
        description=(
            "Apply migrations, optionally load the demo organisation, start a task worker "
            "and serve calmdesk with gunicorn."
        ),
    )
    parser.add_argument("--host", default=os.environ.get("CALMDESK_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("CALMDESK_PORT", "8000")))
    parser.add_argument(
        "--workers",
        type=int,
        default=int(os.environ.get("CALMDESK_WEB_WORKERS", "0")),
        help="gunicorn worker processes (default: cores + 1)",
    )
    parser.add_argument("--threads", type=int, default=4, help="threads per worker process")
    parser.add_argument(
        "--demo", action="store_true", help="load the demo organisation if it is not there yet"
    )
    parser.add_argument(
        "--no-worker",
        action="store_true",
        help="do not start a task worker beside the web server (run `calmdesk worker` elsewhere)",
    )
    parser.add_argument(
        "--no-migrate", action="store_true", help="do not apply database migrations on start"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    setup_django()
    from django.conf import settings
    from django.core.management import call_command

    if not args.no_migrate:
        call_command("migrate", interactive=False, verbosity=0)
    if args.demo:
        _load_demo()

    worker: subprocess.Popen[bytes] | None = None
    if not args.no_worker:
        worker = subprocess.Popen(
            # Beside the web server the worker reports only problems: a line per task
            # state buried the address and the demo logins on start.
            [sys.executable, "-m", "calmdesk", "worker", "--quiet"],
            env=os.environ.copy(),
        )
    database = settings.DATABASES["default"]
    ready = (
        f"calmdesk is serving at http://{args.host}:{args.port}/ "
        f"(database: {database['ENGINE'].rsplit('.', 1)[-1]} {database.get('NAME')}; "
        f"data: {settings.DATA_DIR})"
    )
    print(f"Starting calmdesk at http://{args.host}:{args.port}/ ...", flush=True)
    from django.db import connections

    # Forked web workers must not share the connections migrate and the demo opened.
    connections.close_all()
    try:
        _run_gunicorn(args, ready)
    finally:
        if worker is not None and worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
            try:
                worker.wait(timeout=10)
            except subprocess.TimeoutExpired:
                worker.kill()
    return 0


def _load_demo() -> None:
    from calmdesk.demo.services import demo_load, demo_logins

    summary = demo_load(progress=True)
    logins = demo_logins() or summary.logins
    print(f"Demo organisation: {summary.organisation.name}", flush=True)
    print("Demo logins (username / password / role):", flush=True)
    for username, password, role in logins:
        print(f"  {username:<12} {password:<28} {role}", flush=True)


# Requests one kept-alive connection may carry before the server closes it (Apache's
# MaxKeepAliveRequests, nginx's keepalive_requests). Workers take connections as they arrive, so
# a burst of clients that keep their connections (an integration's pool, the ingest benchmark's
# 16) could all land on one worker: one process, one core, the other core idle. Seen in half the
# ingest benchmark's runs (16 of 16 connections on one of three workers: 190 messages/s, against
# 290 when spread). A closed connection is opened again by its client and taken by whichever
# worker is free first, so the spread mends itself within seconds (3 runs: 262-280 messages/s).
KEEPALIVE_REQUESTS = 100


def _recycle_connections(_worker: Any, request: Any) -> None:
    """gunicorn's pre_request hook: answer a connection's KEEPALIVE_REQUESTS-th request with
    "Connection: close"."""
    if request.req_number % KEEPALIVE_REQUESTS == 0:
        request.must_close = True


def _run_gunicorn(args: argparse.Namespace, ready: str) -> None:
    from gunicorn.app.base import BaseApplication

    from calmdesk.config.wsgi import application

    workers = args.workers or (os.cpu_count() or 1) + 1

    class CalmdeskServer(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            options = {
                "bind": f"{args.host}:{args.port}",
                "workers": workers,
                "worker_class": "gthread",
                "threads": args.threads,
                "accesslog": os.environ.get("CALMDESK_ACCESS_LOG", None),
                "timeout": 60,
                "graceful_timeout": 10,
                "keepalive": 5,
                # Load the app and the engine's models once, before forking: workers
                # share the memory and the first request does not pay for compiling.
                "preload_app": True,
                "pre_request": _recycle_connections,
                # Said once the socket is bound and the app loaded: said earlier, a new user
                # who opened the address at once met "connection refused" while the engine
                # warmed up.
                "when_ready": lambda _server: print(ready, flush=True),
            }
            for key, value in options.items():
                if value is not None:
                    self.cfg.set(key, value)

        def load(self) -> Any:
            from calmdesk.config.warm import warm_django
            from calmdesk.engine.warm import warm_up

            # The engine compiles its rule patterns on first use, Django imports its views
            # and compiles templates on first use; doing both here, before the workers fork,
            # spares the first customers and agents those waits.
            warm_up()
            warm_django()
            return application

    CalmdeskServer().run()
