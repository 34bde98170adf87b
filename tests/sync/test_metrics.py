"""The daemon's metrics: families, values as exposed in the text format, and input checks."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from sync.metrics import RECORD_STAGES, Metrics

FINISHED = datetime(2026, 1, 9, 1, 0, tzinfo=UTC)

FAMILIES = {
    "leadloop_job_duration_seconds": "histogram",
    "leadloop_job_runs": "counter",
    "leadloop_job_last_success_timestamp_seconds": "gauge",
    "leadloop_records": "counter",
    "leadloop_api_calls": "counter",
    "leadloop_rate_limit_waits": "counter",
    "leadloop_rate_limit_wait_seconds": "counter",
    "leadloop_quarantine_size": "gauge",
    "leadloop_sla_breaches_open": "gauge",
    "leadloop_sla_oldest_breach_age_seconds": "gauge",
}
"""Family name as parsed (counters lose `_total`) -> type."""


def value(text: bytes | str, sample: str, **labels: str) -> float | None:
    """The value of the sample named `sample` with exactly `labels`, or None if absent."""
    decoded = text.decode() if isinstance(text, bytes) else text
    for family in text_string_to_metric_families(decoded):
        for found in family.samples:
            if found.name == sample and found.labels == labels:
                return float(found.value)
    return None


class TestFamilies:
    def test_every_family_is_exported_with_its_type(self) -> None:
        """A fresh instance already exposes all ten families, each with the right type."""
        text = Metrics().render().decode()
        types = {family.name: family.type for family in text_string_to_metric_families(text)}
        assert {name: types.get(name) for name in FAMILIES} == FAMILIES

    def test_closed_label_sets_start_at_zero(self) -> None:
        """Every stage and both systems are exported as 0 before anything is counted."""
        text = Metrics().render()
        for stage in RECORD_STAGES:
            assert value(text, "leadloop_records_total", stage=stage) == 0
        for system in ("hubspot", "salesforce"):
            assert value(text, "leadloop_rate_limit_waits_total", system=system) == 0
            assert value(text, "leadloop_rate_limit_wait_seconds_total", system=system) == 0

    def test_named_jobs_start_at_zero(self) -> None:
        """Jobs named up front have both run counters at 0 and no last-success time yet."""
        text = Metrics(jobs=["ingest"]).render()
        for outcome in ("ok", "failed"):
            assert value(text, "leadloop_job_runs_total", job="ingest", outcome=outcome) == 0
        assert value(text, "leadloop_job_duration_seconds_count", job="ingest") == 0
        assert value(text, "leadloop_job_last_success_timestamp_seconds", job="ingest") is None


class TestRuns:
    def test_successful_run(self) -> None:
        """A successful run counts as ok, observes its duration and sets the last success."""
        metrics = Metrics()
        metrics.observe_run("ingest", 2.5, ok=True, finished_at=FINISHED)
        text = metrics.render()
        assert value(text, "leadloop_job_runs_total", job="ingest", outcome="ok") == 1
        assert value(text, "leadloop_job_duration_seconds_count", job="ingest") == 1
        assert value(text, "leadloop_job_duration_seconds_sum", job="ingest") == 2.5
        bucket = "leadloop_job_duration_seconds_bucket"
        assert value(text, bucket, job="ingest", le="2.5") == 1
        assert value(text, bucket, job="ingest", le="1.0") == 0
        last = value(text, "leadloop_job_last_success_timestamp_seconds", job="ingest")
        assert last == FINISHED.timestamp()

    def test_failed_run_keeps_the_last_success(self) -> None:
        """A failed run counts as failed and leaves the last-success time where it was."""
        metrics = Metrics()
        metrics.observe_run("score", 1.0, ok=True, finished_at=FINISHED)
        metrics.observe_run("score", 4.0, ok=False, finished_at=FINISHED.replace(hour=2))
        text = metrics.render()
        assert value(text, "leadloop_job_runs_total", job="score", outcome="ok") == 1
        assert value(text, "leadloop_job_runs_total", job="score", outcome="failed") == 1
        assert value(text, "leadloop_job_duration_seconds_sum", job="score") == 5.0
        last = value(text, "leadloop_job_last_success_timestamp_seconds", job="score")
        assert last == FINISHED.timestamp()

    def test_naive_finish_time_is_refused(self) -> None:
        """A naive finished_at would be read as local time, so it is a ValueError."""
        with pytest.raises(ValueError, match="timezone-aware"):
            Metrics().observe_run("ingest", 1.0, ok=True, finished_at=datetime(2026, 1, 9))

    def test_negative_duration_is_refused(self) -> None:
        """A run cannot take negative time."""
        with pytest.raises(ValueError, match="negative"):
            Metrics().observe_run("ingest", -1.0, ok=True, finished_at=FINISHED)


class TestRecords:
    def test_counts_add_up_per_stage(self) -> None:
        """Counts for one stage accumulate; other stages stay at 0."""
        metrics = Metrics()
        metrics.add_records("read", 10)
        metrics.add_records("read", 5)
        metrics.add_records("handed_off", 2)
        text = metrics.render()
        assert value(text, "leadloop_records_total", stage="read") == 15
        assert value(text, "leadloop_records_total", stage="handed_off") == 2
        assert value(text, "leadloop_records_total", stage="scored") == 0

    def test_unknown_stage_is_a_value_error(self) -> None:
        """A misspelt stage is refused and names the allowed ones, not silently a new series."""
        metrics = Metrics()
        with pytest.raises(ValueError, match=r"'handedoff'.*handed_off"):
            metrics.add_records("handedoff", 1)
        assert value(metrics.render(), "leadloop_records_total", stage="handedoff") is None

    def test_negative_count_is_refused(self) -> None:
        """Counters only go up."""
        with pytest.raises(ValueError, match="negative"):
            Metrics().add_records("read", -1)


class TestApiCalls:
    def test_calls_waits_and_seconds(self) -> None:
        """Calls land per system and operation; waits and seconds per system."""
        metrics = Metrics()
        metrics.add_api_calls("hubspot", {"contacts.search": 3, "contacts.batch_read": 1}, 2, 1.5)
        metrics.add_api_calls("hubspot", {"contacts.search": 1}, 1, 0.25)
        metrics.add_api_calls("salesforce", {"query": 4}, 0, 0.0)
        text = metrics.render()
        calls = "leadloop_api_calls_total"
        assert value(text, calls, system="hubspot", operation="contacts.search") == 4
        assert value(text, calls, system="hubspot", operation="contacts.batch_read") == 1
        assert value(text, calls, system="salesforce", operation="query") == 4
        assert value(text, "leadloop_rate_limit_waits_total", system="hubspot") == 3
        assert value(text, "leadloop_rate_limit_wait_seconds_total", system="hubspot") == 1.75
        assert value(text, "leadloop_rate_limit_waits_total", system="salesforce") == 0

    def test_unknown_system_is_a_value_error(self) -> None:
        """Only hubspot and salesforce are systems."""
        with pytest.raises(ValueError, match="unknown system 'pipedrive'"):
            Metrics().add_api_calls("pipedrive", {"deals": 1}, 0, 0.0)

    def test_a_bad_value_counts_nothing(self) -> None:
        """A negative count anywhere is refused before any counter moves."""
        metrics = Metrics()
        with pytest.raises(ValueError, match="'query'"):
            metrics.add_api_calls("salesforce", {"describe": 1, "query": -1}, 1, 1.0)
        text = metrics.render()
        calls = "leadloop_api_calls_total"
        assert value(text, calls, system="salesforce", operation="describe") is None
        assert value(text, "leadloop_rate_limit_waits_total", system="salesforce") == 0


class TestGauges:
    def test_quarantine_and_breaches_are_set_not_added(self) -> None:
        """Gauges take the latest value."""
        metrics = Metrics()
        metrics.set_quarantine(7)
        metrics.set_quarantine(3)
        metrics.set_breaches(2, 5400.0)
        text = metrics.render()
        assert value(text, "leadloop_quarantine_size") == 3
        assert value(text, "leadloop_sla_breaches_open") == 2
        assert value(text, "leadloop_sla_oldest_breach_age_seconds") == 5400.0

    def test_no_open_breach_means_age_zero(self) -> None:
        """With no breach open the oldest age is 0, whatever the caller passed."""
        metrics = Metrics()
        metrics.set_breaches(1, 60.0)
        metrics.set_breaches(0, 60.0)
        assert value(metrics.render(), "leadloop_sla_oldest_breach_age_seconds") == 0

    @pytest.mark.parametrize(
        "call",
        [
            lambda m: m.set_quarantine(-1),
            lambda m: m.set_breaches(-1, 0.0),
            lambda m: m.set_breaches(1, -5.0),
        ],
    )
    def test_negative_values_are_refused(self, call: Callable[[Metrics], None]) -> None:
        """Sizes, counts and ages cannot be negative."""
        with pytest.raises(ValueError, match="negative"):
            call(Metrics())


class TestIsolation:
    def test_two_instances_do_not_share_values(self) -> None:
        """Each instance has its own registry: what one counts the other does not see."""
        first, second = Metrics(), Metrics()
        first.add_records("read", 5)
        first.set_quarantine(4)
        second.add_records("read", 1)
        assert value(first.render(), "leadloop_records_total", stage="read") == 5
        assert value(second.render(), "leadloop_records_total", stage="read") == 1
        assert value(second.render(), "leadloop_quarantine_size") == 0
        assert first.registry is not second.registry

    def test_the_global_registry_is_untouched(self) -> None:
        """Nothing is registered in prometheus_client's process-wide default registry."""
        Metrics().add_records("read", 1)
        names = {family.name for family in REGISTRY.collect()}
        assert not any(name.startswith("leadloop_") for name in names)
