"""Bookkeeping for the worker's recurring checks."""

from __future__ import annotations

from django.db import models


class PeriodicCheck(models.Model):
    """One row per recurring job. `next_run_at` is claimed with a conditional UPDATE, so
    however many workers hold a copy of the task, one run happens per interval."""

    name = models.CharField(max_length=64, unique=True)
    next_run_at = models.DateTimeField()
    last_run_at = models.DateTimeField(null=True, blank=True)
    last_report = models.JSONField(default=dict, blank=True)

    def __str__(self) -> str:
        return self.name
