"""Role-play practice with simulated difficult customers (domain.md section 6).

Pure Python like the engine: no Django, so it runs in the terminal, in tests and
behind any web page. The pieces:

- `scenario`: scenarios as validated data, shipped as `scenarios/*.toml`
- `reading`: what a trainee reply does (the engine's coach plus scenario checks)
- `customer`: the simulated customer's hidden state and how replies move it
- `composer`: the customer's next line, deterministic for a seed
- `session`: a practice session, turn by turn, and `play_script`
- `rubric`: the end-of-session report
- `anonymise`, `drafting`: turning a real conversation into scenario material
- `voice`: optional chat-model wording of the customer's lines (off by default)
"""

from calmdesk.training.customer import SUCCESS_OUTCOMES, CustomerState, Outcome
from calmdesk.training.rubric import RUBRIC_ITEMS, Report
from calmdesk.training.scenario import (
    PROBLEM_KINDS,
    Scenario,
    ScenarioError,
    find_scenario,
    load_scenario,
    load_scenarios,
)
from calmdesk.training.session import (
    PracticeError,
    PracticeResult,
    PracticeSession,
    Turn,
    play_script,
)

__all__ = [
    "PROBLEM_KINDS",
    "RUBRIC_ITEMS",
    "SUCCESS_OUTCOMES",
    "CustomerState",
    "Outcome",
    "PracticeError",
    "PracticeResult",
    "PracticeSession",
    "Report",
    "Scenario",
    "ScenarioError",
    "Turn",
    "find_scenario",
    "load_scenario",
    "load_scenarios",
    "play_script",
]
