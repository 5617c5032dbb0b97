from personal_finance.contrib.db_router import ReplicaRouter, analytics_reads, read_alias


def test_only_analytics_reads_go_to_the_replica(monkeypatch):
    from django.conf import settings

    monkeypatch.setitem(settings.DATABASES, "replica", dict(settings.DATABASES["default"]))
    router = ReplicaRouter()
    assert router.db_for_read(None) == "default"
    with analytics_reads() as alias:
        assert alias == "replica"
        assert router.db_for_read(None) == "replica"
        assert router.db_for_write(None) == "default"
    assert read_alias() == "default"


def test_without_a_replica_everything_stays_on_default():
    with analytics_reads() as alias:
        assert alias == "default"
