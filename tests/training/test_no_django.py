import subprocess
import sys


def test_the_simulator_and_its_command_never_import_django():
    code = (
        "import sys, calmdesk.training, calmdesk.training.anonymise, calmdesk.cli.practice\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'django'))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
