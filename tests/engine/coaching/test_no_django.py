from __future__ import annotations

import subprocess
import sys


def test_coach_playbook_and_cli_module_load_no_django() -> None:
    code = (
        "import sys\n"
        "from calmdesk.engine import coach, playbook\n"
        "import calmdesk.cli.coach, calmdesk.engine.coaching.evaluation\n"
        "coach('Calm down.', conversation=[('customer', 'Where is my refund?!')])\n"
        "playbook([('customer', 'Where is my refund?!'), ('agent', 'Sorry, I will check.')])\n"
        "loaded = sorted(m for m in sys.modules if m == 'django' or m.startswith('django.'))\n"
        "print(','.join(loaded))\n"
        "sys.exit(1 if loaded else 0)\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stdout + run.stderr
