"""One practice run: a trainee against one simulated customer."""

from __future__ import annotations

from django.db import models

from calmdesk.accounts.models import Organisation, User


class PracticeRun(models.Model):
    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="practice_runs"
    )
    trainee = models.ForeignKey(User, on_delete=models.CASCADE, related_name="practice_runs")
    scenario_id = models.CharField(max_length=64)
    # Kept with the run so the history still reads well if a scenario is renamed or retired.
    scenario_title = models.CharField(max_length=200)
    persona = models.CharField(max_length=32)
    seed = models.PositiveIntegerField()
    # Off = test mode: no live coach, no feedback or customer mood until the report.
    coach_visible = models.BooleanField(default=True)
    replies = models.JSONField(default=list)
    # Empty while the run is in progress; then an outcome of the simulator, or "unfinished".
    outcome = models.CharField(max_length=32, blank=True)
    overall = models.PositiveSmallIntegerField(null=True, blank=True)
    scores = models.JSONField(default=dict)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-pk"]
        indexes = [
            models.Index(fields=["trainee", "-started_at"], name="practice_trainee_started"),
            models.Index(fields=["organisation", "-started_at"], name="practice_org_started"),
        ]

    def __str__(self) -> str:
        return f"{self.trainee} · {self.scenario_id} · {self.outcome or 'in progress'}"

    @property
    def finished(self) -> bool:
        return bool(self.outcome)


class CustomScenario(models.Model):
    """An organisation's own scenario, or its edited copy of a shipped one (same id wins).

    Stored as the TOML source an author wrote; it was validated when saved, and is
    validated again whenever it is loaded.
    """

    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="practice_scenarios"
    )
    scenario_id = models.CharField(max_length=64)
    source = models.TextField()
    updated_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["scenario_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "scenario_id"], name="practice_scenario_unique_id"
            )
        ]

    def __str__(self) -> str:
        return self.scenario_id
