"""A real streaming replica: reporting reads are served by it while it runs, and fall back to the
primary — same answers, no error — when it is stopped.

The test makes its own two PostgreSQL clusters (initdb, then pg_basebackup of the first with streaming
replication) on free ports under /tmp, and drives Kehu in a subprocess pointed at both."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

BIN = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(300),
    pytest.mark.skipif(bool(os.environ.get("KEHU_TEST_DATABASE_URL")),
                       reason="makes its own clusters; run once, in the SQLite pass of the suite"),
    pytest.mark.skipif(not BIN, reason="no PostgreSQL server binaries (/usr/lib/postgresql/*/bin)"),
]

SCRIPT = r"""
import os, subprocess, sys, time
import django
django.setup()
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from kehu.ops.replica import reporting_reads

stop_command = sys.argv[1:]
ContentType.objects.create(app_label="replica_probe", model="written_on_primary")

def probe():
    with reporting_reads():
        qs = ContentType.objects.filter(app_label="replica_probe")
        return qs.db, qs.count()

deadline = time.monotonic() + 60
while True:  # the write reaches the replica within moments
    db, n = probe()
    if db == "replica" and n == 1:
        break
    assert time.monotonic() < deadline, (db, n)
    time.sleep(0.2)
print("running", db, n)
with transaction.atomic(), reporting_reads():
    print("in-transaction", ContentType.objects.filter(app_label="replica_probe").db)
subprocess.run(stop_command, check=True, capture_output=True)
time.sleep(1.5)  # KEHU_REPLICA_CHECK_SECONDS=1: the next read probes again
db, n = probe()
print("stopped", db, n)
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def clusters():
    bin_dir = Path(BIN[-1])
    as_postgres: list[str] = []
    base = Path(tempfile.mkdtemp(prefix="kehu-replica-", dir="/tmp"))
    if os.geteuid() == 0:  # initdb refuses to run as root
        try:
            pw = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no postgres user to run the clusters")
        os.chown(base, pw.pw_uid, pw.pw_gid)
        as_postgres = ["runuser", "-u", "postgres", "--"]

    def run(*cmd):
        return subprocess.run([*as_postgres, *cmd], check=True, capture_output=True, text=True, timeout=120)

    primary, standby = base / "primary", base / "replica"
    p1, p2 = _free_port(), _free_port()
    started = []
    try:
        run(str(bin_dir / "initdb"), "-D", str(primary), "-A", "trust", "-U", "postgres", "--no-sync")
        with open(primary / "postgresql.conf", "a") as conf:
            conf.write(f"\nport = {p1}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{base}'\n"
                       "wal_level = replica\nmax_wal_senders = 4\nfsync = off\n")
        with open(primary / "pg_hba.conf", "a") as hba:
            hba.write("\nhost replication all 127.0.0.1/32 trust\n")
        run(str(bin_dir / "pg_ctl"), "-D", str(primary), "-l", str(base / "primary.log"), "-w", "start")
        started.append(primary)
        run(str(bin_dir / "pg_basebackup"), "-h", "127.0.0.1", "-p", str(p1), "-U", "postgres", "-D", str(standby),
            "-R", "-X", "stream")
        with open(standby / "postgresql.conf", "a") as conf:
            conf.write(f"\nport = {p2}\n")
        run(str(bin_dir / "pg_ctl"), "-D", str(standby), "-l", str(base / "replica.log"), "-w", "start")
        started.append(standby)
        run(str(bin_dir / "psql"), "-h", "127.0.0.1", "-p", str(p1), "-U", "postgres", "-c", "CREATE DATABASE kehu")

        class Clusters:
            pass

        c = Clusters()
        c.primary_url = f"postgres://postgres@127.0.0.1:{p1}/kehu"
        c.replica_url = f"postgres://postgres@127.0.0.1:{p2}/kehu"
        c.stop_replica = [*as_postgres, str(bin_dir / "pg_ctl"), "-D", str(standby), "-m", "fast", "-w", "stop"]
        c.base = base
        yield c
    except subprocess.CalledProcessError as exc:
        pytest.fail(f"could not make the clusters: {exc.cmd}\n{exc.stdout}\n{exc.stderr}")
    finally:
        for data in reversed(started):
            subprocess.run([*as_postgres, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                           capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


def test_reporting_reads_use_the_replica_and_fall_back_when_it_stops(clusters, tmp_path):
    """Reads for reports come from the replica (not inside a transaction); after the replica is stopped
    the same reads are answered by the primary, with the same result and no error."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KEHU_", "DJANGO_"))}
    env.update(KEHU_DEBUG="1", KEHU_DATABASE_URL=clusters.primary_url, KEHU_REPLICA_DATABASE_URL=clusters.replica_url,
               KEHU_REPLICA_CHECK_SECONDS="1", KEHU_VAR_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="kehu.settings")
    kehu = [sys.executable, "-m", "kehu"]
    subprocess.run([*kehu, "migrate", "contenttypes", "-v0"], env=env, check=True, timeout=180, capture_output=True)
    done = subprocess.run([sys.executable, "-c", SCRIPT, *clusters.stop_replica], env=env, timeout=180,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.split("\n")
    assert "running replica 1" in lines
    assert "in-transaction default" in lines
    assert "stopped default 1" in lines
    assert "replica unavailable, reading from the primary" in done.stderr
