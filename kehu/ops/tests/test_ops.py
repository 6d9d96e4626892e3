"""Operating Kehu: health and readiness for the load balancer, request ids in answers and logs, the
Prometheus metrics and who may read them."""

from __future__ import annotations

import io
import json
import logging

import pytest

from kehu.ops.logs import JsonFormatter, RequestIdFilter


@pytest.mark.django_db
def test_healthz_answers_without_login(client):
    """The process check needs no login and says nothing but its state."""
    r = client.get("/healthz")
    assert r.status_code == 200
    assert r.json() == {"status": "ok"}
    assert "no-cache" in r["Cache-Control"]


@pytest.mark.django_db
def test_readyz_checks_database_and_queue(client):
    """Ready means the database answers a query and the queue answers its depth."""
    r = client.get("/readyz")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ready"
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["queue"]["ok"] is True and isinstance(body["checks"]["queue"]["pending"], int)


@pytest.mark.django_db
def test_readyz_is_503_when_the_queue_is_down(client, monkeypatch):
    """A queue that cannot be reached takes the instance out of the balancer (503), naming the check."""
    from huey.contrib.djhuey import HUEY

    def broken():
        raise ConnectionError("redis down")

    monkeypatch.setattr(HUEY, "pending_count", broken)
    r = client.get("/readyz")
    assert r.status_code == 503
    assert r.json()["checks"]["queue"] == {"ok": False, "error": "ConnectionError"}
    assert r.json()["checks"]["database"]["ok"] is True


@pytest.mark.django_db
def test_every_answer_carries_a_request_id(client):
    """Each answer has a fresh X-Request-ID; a proxy's well-formed id is kept, a malformed one replaced."""
    a, b = client.get("/healthz")["X-Request-ID"], client.get("/healthz")["X-Request-ID"]
    assert len(a) == 32 and a != b
    assert client.get("/healthz", HTTP_X_REQUEST_ID="nginx-abc123def")["X-Request-ID"] == "nginx-abc123def"
    replaced = client.get("/healthz", HTTP_X_REQUEST_ID="x<script>")["X-Request-ID"]
    assert replaced != "x<script>" and len(replaced) == 32


@pytest.mark.django_db
def test_access_log_is_json_with_the_request_id(client):
    """With the JSON format, the request's log line is one JSON object with the same id as the answer."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("kehu.requests")
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        r = client.get("/api/v1/customers")
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
    line = json.loads(stream.getvalue().strip().splitlines()[-1])
    assert line["request_id"] == r["X-Request-ID"]
    assert line["route"] == "/api/v1/customers" and line["status"] == 401 and line["method"] == "GET"
    assert line["level"] == "INFO" and isinstance(line["ms"], float)


@pytest.mark.django_db
def test_metrics_by_route_for_loopback(client):
    """Prometheus reads latency by URL pattern (not by path), the queue depth and the audit backlog."""
    client.get("/api/v1/customers/12345")
    r = client.get("/metrics", REMOTE_ADDR="127.0.0.1")
    assert r.status_code == 200
    text = r.content.decode()
    assert 'kehu_request_seconds_bucket{le="0.015",method="GET",route="/api/v1/customers/<customer_id>"}' in text
    assert "/api/v1/customers/12345" not in text
    assert "kehu_queue_depth " in text and "kehu_audit_unsealed " in text


@pytest.mark.django_db
def test_metrics_refused_to_other_hosts_without_the_token(client, settings):
    """From another host /metrics needs the bearer token; a wrong one is refused."""
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 403
    # Behind nginx on the same host: the forwarded client address counts, not the proxy's loopback.
    settings.KEHU_TRUSTED_PROXIES = ["127.0.0.1/32"]
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.9").status_code == 403
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 200
    settings.KEHU_METRICS_TOKEN = "s3cret-scrape"
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3", HTTP_AUTHORIZATION="Bearer nope").status_code == 403
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 403  # the token applies to all
    ok = client.get("/metrics", REMOTE_ADDR="10.1.2.3", HTTP_AUTHORIZATION="Bearer s3cret-scrape")
    assert ok.status_code == 200 and b"kehu_request_seconds" in ok.content


def test_serve_sizes_workers_by_cores(monkeypatch):
    """`kehu serve` runs 2 × cores + 1 gunicorn processes with threads unless told otherwise."""
    from django.core.management import call_command

    monkeypatch.setattr("os.cpu_count", lambda: 4)
    monkeypatch.delenv("KEHU_WEB_WORKERS", raising=False)
    out = io.StringIO()
    call_command("serve", "--check-config", stdout=out)
    assert "workers=9" in out.getvalue() and "threads=4" in out.getvalue() and "worker_class=gthread" in out.getvalue()
    out = io.StringIO()
    call_command("serve", "--check-config", "--workers", "3", "--bind", "0.0.0.0:9000", stdout=out)
    assert "workers=3" in out.getvalue() and "bind=0.0.0.0:9000" in out.getvalue()


@pytest.mark.django_db
def test_background_tasks_are_timed_by_name(client):
    """Every Huey task's duration lands in kehu_job_seconds under the task's name (sweeps, seals …)."""
    from huey.contrib.djhuey import task

    @task()
    def ops_probe_task():
        return 1

    ops_probe_task()
    text = client.get("/metrics", REMOTE_ADDR="127.0.0.1").content.decode()
    assert 'kehu_job_seconds_count{job="ops_probe_task"} 1.0' in text
