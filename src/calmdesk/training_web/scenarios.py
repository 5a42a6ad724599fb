"""Which scenarios an organisation practises on: the shipped ones plus its own."""

from __future__ import annotations

import logging
from functools import lru_cache
from importlib import resources

from calmdesk.training import Scenario, ScenarioError, load_scenarios
from calmdesk.training.scenario import scenario_from_toml
from calmdesk.training_web.models import CustomScenario

logger = logging.getLogger(__name__)


@lru_cache(maxsize=1)
def shipped_scenarios() -> tuple[Scenario, ...]:
    # Package data does not change while the process runs.
    return load_scenarios()


def shipped_source(scenario_id: str) -> str | None:
    entry = resources.files("calmdesk.training") / "scenarios" / f"{scenario_id}.toml"
    if not entry.is_file():
        return None
    return entry.read_text(encoding="utf-8")


def organisation_scenarios(organisation_id: int) -> tuple[Scenario, ...]:
    """Shipped scenarios with the organisation's own added or replacing them by id.

    A stored scenario that no longer validates (the schema grew stricter) is left
    out and logged rather than breaking the practice page for everyone.
    """
    by_id = {scenario.id: scenario for scenario in shipped_scenarios()}
    for custom in CustomScenario.objects.filter(organisation_id=organisation_id):
        try:
            by_id[custom.scenario_id] = scenario_from_toml(
                custom.source, source=f"custom scenario {custom.scenario_id}"
            )
        except ScenarioError:
            logger.warning("stored practice scenario %s no longer loads", custom.pk, exc_info=True)
    return tuple(sorted(by_id.values(), key=lambda scenario: scenario.id))
