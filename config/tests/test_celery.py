import pytest

from config.celery_app import app
from personal_finance.contrib.tasks import LAST_RESULT_KEY, system_health_checks


def _queue_for(task_name: str) -> str:
    route = app.amqp.router.route({}, task_name)
    return route["queue"].name


@pytest.mark.parametrize(
    ("task", "queue"),
    [
        ("personal_finance.contrib.tasks.system_health_checks", "low"),
        ("personal_finance.contrib.tasks.cleanup_old_data", "low"),
        ("personal_finance.contrib.tasks.backup_database", "low"),
        ("personal_finance.realtime.tasks.update_asset_prices", "high"),
        ("personal_finance.data_sources.tasks.fetch_market_data", "default"),
        ("personal_finance.analytics.tasks.calculate_portfolio_metrics", "default"),
        ("personal_finance.tax.tasks.generate_tax_reports", "default"),
        ("personal_finance.backtesting.tasks.run_backtest_task", "high"),
        ("personal_finance.backtesting.tasks.sweep_chunk_task", "default"),
        ("personal_finance.backtesting.tasks.sweep_gather_task", "default"),
        ("personal_finance.something.unrouted", "default"),
    ],
)
def test_routes_by_task_name(task, queue):
    assert _queue_for(task) == queue


def test_json_only_and_time_limits():
    assert app.conf.task_serializer == "json"
    assert app.conf.accept_content == ["json"]
    assert app.conf.task_time_limit > app.conf.task_soft_time_limit > 0
    assert app.conf.broker_transport_options["visibility_timeout"] > app.conf.task_time_limit


def test_beat_schedules_the_health_task():
    entry = app.conf.beat_schedule["system-health-checks"]
    assert entry["task"] == system_health_checks.name
    assert app.conf.beat_scheduler.startswith("django_celery_beat")


@pytest.mark.django_db
def test_system_health_checks_runs_eagerly_and_records_outcome(caplog):
    from django.core.cache import cache

    with caplog.at_level("INFO", logger="personal_finance.health"):
        result = system_health_checks.delay().get()
    assert result["status"] == "ok"
    assert set(result["checks"]) == {"database", "cache"}
    assert cache.get(LAST_RESULT_KEY)["status"] == "ok"
    assert any("system health ok" in r.getMessage() for r in caplog.records)


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("queue", ["high", "default", "low"])
def test_real_worker_consumes_each_queue(celery_not_eager, queue):
    result = system_health_checks.apply_async(queue=queue).get(timeout=30)
    assert result["queue"] == queue
    assert result["hostname"].startswith("pytest-")
    assert result["checks"]["database"]["status"] == "ok"


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_real_worker_takes_default_route(celery_not_eager):
    async_result = system_health_checks.delay()
    assert async_result.get(timeout=30)["queue"] == "low"
