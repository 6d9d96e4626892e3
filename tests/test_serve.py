"""`kehu serve` for real: gunicorn with two worker processes on a migrated SQLite database of its own
answers /healthz, /readyz and the login page, and /metrics sums requests served by both processes."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(300),
    pytest.mark.skipif(bool(os.environ.get("KEHU_TEST_DATABASE_URL")),
                       reason="the real-server test runs on a SQLite file of its own"),
]

KEHU_SCRIPT = Path(sys.executable).with_name("kehu")
KEHU = [str(KEHU_SCRIPT)] if KEHU_SCRIPT.exists() else [sys.executable, "-m", "kehu"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:  # noqa: S310 - loopback only
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def test_serve_runs_gunicorn_workers_and_sums_their_metrics(tmp_path):
    """Two processes serve; after 40 requests /metrics counts all 40 (multiprocess collection)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KEHU_", "DJANGO_", "PROMETHEUS_"))}
    env.update(KEHU_DEBUG="1", KEHU_DATABASE_URL=f"sqlite:///{tmp_path / 'kehu.sqlite3'}",
               KEHU_VAR_DIR=str(tmp_path / "var"), DJANGO_SETTINGS_MODULE="kehu.settings", PYTHONUNBUFFERED="1")
    (tmp_path / "var").mkdir()
    subprocess.run([*KEHU, "migrate", "-v0"], env=env, check=True, timeout=120, capture_output=True)
    port = _free_port()
    log = open(tmp_path / "serve.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen([*KEHU, "serve", "--bind", f"127.0.0.1:{port}", "--workers", "2", "--threads", "2"],
                            env=env, stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 150  # a loaded 2-core box needs a while to import
        while True:
            try:
                if _get(base + "/healthz")[0] == 200:
                    break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail("kehu serve did not come up:\n" + (tmp_path / "serve.log").read_text(errors="replace"))
            time.sleep(0.3)
        status, body = _get(base + "/readyz")
        assert status == 200 and b'"ready"' in body
        assert _get(base + "/login/")[0] == 200
        for _ in range(40):
            assert _get(base + "/healthz")[0] == 200
        status, body = _get(base + "/metrics")
        assert status == 200
        counts = re.findall(rb'kehu_responses_total\{method="GET",route="/healthz",status="2xx"\} (\S+)', body)
        assert counts and sum(float(c) for c in counts) >= 40
        workers = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True, text=True).stdout.split()
        assert len(workers) == 2, workers
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
