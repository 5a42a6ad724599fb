"""Replies sent at the same moment to one run are all kept, each exactly once."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from calmdesk.accounts.models import User
from calmdesk.training_web.models import PracticeRun
from calmdesk.training_web.services import (
    PracticeRunError,
    practice_run_reply,
    practice_run_session,
    practice_run_start,
)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_replies_do_not_overwrite_each_other(agent_a: User) -> None:
    run = practice_run_start(trainee=agent_a, scenario_id="late-cot-indecisive", seed=5)
    texts = [f"Okay, let me check that for you ({n})." for n in range(4)]
    barrier = threading.Barrier(len(texts))
    errors: list[BaseException] = []

    def send(text: str) -> None:
        try:
            barrier.wait()
            practice_run_reply(run=PracticeRun.objects.get(pk=run.pk), text=text)
        except PracticeRunError:
            pass  # the run may have ended; that is a clean refusal, not a lost reply
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(text,)) for text in texts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    stored = PracticeRun.objects.get(pk=run.pk)
    assert sorted(stored.replies) == sorted(texts)
    session = practice_run_session(stored)
    assert [turn.reply for turn in session.turns] == stored.replies
