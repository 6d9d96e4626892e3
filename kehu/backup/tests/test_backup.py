"""`kehu backup` / `kehu restore` (issue 16 "Backup", issue 10): a round trip into an empty database and var
dir gives identical row counts and checksums, the var files (encrypted uploads, the audit checkpoint file)
come back, `kehu audit verify` passes on the restored copy (timestamps keep their microseconds), and the
key-escrow reminder is printed. SQLite always; PostgreSQL when KEHU_TEST_DATABASE_URL is set (restored into
a fresh database name)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import tarfile
import uuid
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import connection

from kehu.audit.models import AuditEntry
from kehu.audit.services import audit_seal
from kehu.backup import archive
from kehu.customers.services import customer_create
from kehu.imports import services as import_services
from kehu.imports.samples import csv_bytes, sheet_rows

KEHU = [sys.executable, "-m", "kehu"]


def _env(database_url: str, var_dir: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KEHU_", "DJANGO_"))}
    env.update(KEHU_DEBUG="1", KEHU_DATABASE_URL=database_url, KEHU_VAR_DIR=str(var_dir),
               KEHU_FIELD_KEYS=",".join(django_settings.FIELD_KEYS), DJANGO_SETTINGS_MODULE="kehu.settings")
    return env


def _kehu(*args, env) -> subprocess.CompletedProcess:
    return subprocess.run([*KEHU, *args], env=env, capture_output=True, text=True, timeout=600,
                          cwd=Path(__file__).resolve().parents[3])


@pytest.fixture
def seeded(org, settings, tmp_path, audit_triggers_lifted_at_teardown):
    """An archive with customers (encrypted mobiles), an uploaded file in var/imports and a sealed audit chain
    with a checkpoint of its head in var/."""
    var = tmp_path / "var"
    var.mkdir()
    settings.VAR_DIR = var
    settings.KEHU_AUDIT_CHECKPOINT_FILE = str(var / "audit-checkpoints.log")
    customer_create(actor=org.rep, data={"name": "李娜", "kind": "person", "mobile": "13987654321",
                                         "basis": {"basis": "contract", "purpose": "合同履行"}})
    import_services.import_upload(actor=org.rep, file_name="客户.csv",
                                  chunks=[csv_bytes(list(sheet_rows(5)))])
    audit_seal(checkpoint=True)
    assert AuditEntry.objects.filter(seq__isnull=False).exists()
    assert (var / "audit-checkpoints.log").exists() and list((var / "imports").iterdir())
    return var


def _backup(tmp_path, var) -> tuple[Path, dict, list[str]]:
    out: list[str] = []
    path = tmp_path / "kehu.tar"
    target = archive.target_from_settings()
    source = connection.connection if target.engine == "sqlite" else None
    manifest = archive.backup(path, var_dir=var, sqlite_source=source, log=out.append)
    return path, manifest, out


def _check_restored(manifest: dict, var: Path, var2: Path, restored_counts: dict, result) -> None:
    assert result.returncode == 0, result.stderr
    assert "KEY ESCROW" in result.stdout and "KEHU_FIELD_KEYS" in result.stdout
    assert {t: v["rows"] for t, v in manifest["tables"].items()} == restored_counts
    assert manifest["tables"]["customers_customer"]["rows"] >= 1
    assert sorted(p.relative_to(var2).as_posix() for p in var2.rglob("*") if p.is_file()
                  and not p.name.startswith("huey")) == sorted(manifest["files"])
    for rel in manifest["files"]:
        assert (var2 / rel).read_bytes() == (var / rel).read_bytes()


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "sqlite", reason="the SQLite round trip")
def test_sqlite_backup_restores_into_an_empty_database_with_identical_counts_checksums_and_audit_chain(
        seeded, tmp_path):
    path, manifest, out = _backup(tmp_path, seeded)
    assert any("KEY ESCROW" in line for line in out)
    with tarfile.open(path) as tar:
        names = tar.getnames()
    assert {"manifest.json", "KEYS-NOT-INCLUDED.txt", "database/kehu.sqlite3",
            "var/audit-checkpoints.log"} <= set(names)
    assert any(n.startswith("var/imports/") for n in names)
    assert manifest["keys_included"] is False and len(manifest["tables"]) > 30
    # the source as the application sees it: the same counts
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM customers_customer")
        assert manifest["tables"]["customers_customer"]["rows"] == cur.fetchone()[0]

    db2, var2 = tmp_path / "restored.sqlite3", tmp_path / "var2"
    var2.mkdir()
    env = _env(f"sqlite:///{db2}", var2)
    result = _kehu("restore", str(path), env=env)
    conn = sqlite3.connect(db2)
    counts = {t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in archive.sqlite_tables(conn)}
    conn.close()
    _check_restored(manifest, seeded, var2, counts, result)
    assert archive.sqlite_checksums(db2) == manifest["tables"]
    verify = _kehu("audit", "verify", env=env)
    assert verify.returncode == 0 and "audit log intact" in verify.stdout, verify.stdout + verify.stderr
    assert "checkpoints: 1" in verify.stdout or "checkpoints: 2" in verify.stdout
    # a second restore into the same, no longer empty, database is refused
    again = _kehu("restore", str(path), env=env)
    assert again.returncode != 0 and "not empty" in again.stderr


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "sqlite", reason="the SQLite round trip")
def test_restore_refuses_a_damaged_archive_and_a_var_dir_with_files(seeded, tmp_path):
    path, manifest, _out = _backup(tmp_path, seeded)
    var2 = tmp_path / "var2"
    var2.mkdir()
    (var2 / "leftover.txt").write_text("x")
    with pytest.raises(archive.BackupError, match="not empty"):
        archive.restore(path, target=archive.Target("sqlite", path=tmp_path / "r.sqlite3"), var_dir=var2,
                        log=lambda _m: None)
    assert not (tmp_path / "r.sqlite3").exists()


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs KEHU_TEST_DATABASE_URL (PostgreSQL)")
def test_postgresql_backup_restores_into_a_fresh_database_with_identical_counts_checksums_and_audit_chain(
        seeded, tmp_path):
    path, manifest, _out = _backup(tmp_path, seeded)
    assert "database/kehu.dump" in tarfile.open(path).getnames()
    db = dict(connection.settings_dict)
    name = f"kehu_privacy_restore_{uuid.uuid4().hex[:8]}"
    admin = archive._pg_connect(db)
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        var2 = tmp_path / "var2"
        var2.mkdir()
        auth = f"{db['USER']}:{db['PASSWORD']}@" if db.get("PASSWORD") else f"{db['USER']}@"
        env = _env(f"postgres://{auth}{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{name}", var2)
        result = _kehu("restore", str(path), env=env)
        target = {**db, "NAME": name}
        counts = {t: v["rows"] for t, v in archive.pg_checksums(target).items()}
        _check_restored(manifest, seeded, var2, counts, result)
        assert archive.pg_checksums(target) == manifest["tables"]
        verify = _kehu("audit", "verify", env=env)
        assert verify.returncode == 0 and "audit log intact" in verify.stdout, verify.stdout + verify.stderr
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def test_missing_pg_dump_gives_a_clear_error(monkeypatch, settings):
    settings.KEHU_PG_BIN_DIR = "/nonexistent"
    monkeypatch.setattr(archive.shutil, "which", lambda _n: None)
    monkeypatch.setattr(archive.Path, "glob", lambda self, _p: iter(()))
    with pytest.raises(archive.BackupError, match="pg_dump was not found"):
        archive.pg_tool("pg_dump")


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "sqlite", reason="the SQLite round trip")
def test_restore_clears_the_cached_users_and_a_backup_leaves_the_file_cache_out(seeded, tmp_path):
    """A cached token or user describes the database before the restore: it goes. The file cache under var/ is
    transient: not archived, and not a reason to call a var dir "not empty"."""
    from django.core.cache import cache

    (seeded / "cache").mkdir()
    (seeded / "cache" / "x.djcache").write_bytes(b"stale")
    path, manifest, _out = _backup(tmp_path, seeded)
    assert not any(rel.startswith("cache/") for rel in manifest["files"])
    cache.set("access:token:abc", 42)
    var2 = tmp_path / "var2"
    (var2 / "cache").mkdir(parents=True)
    (var2 / "cache" / "y.djcache").write_bytes(b"stale")
    out: list[str] = []
    archive.restore(path, target=archive.Target("sqlite", path=tmp_path / "r.sqlite3"), var_dir=var2, log=out.append)
    assert cache.get("access:token:abc") is None
    assert any(line.startswith("cleared the cache") for line in out)


def test_clear_cache_on_redis_drops_only_kehus_keys(settings):
    """On a Redis shared with other users (the task queue, say) only Kehu's prefixed keys are deleted."""
    import redis
    from django.core.cache import caches

    url = "redis://127.0.0.1:6379/13"
    try:
        raw = redis.Redis.from_url(url)
        raw.ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    raw.flushdb()
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url,
                                   "KEY_PREFIX": "kehu"}}
    try:
        caches["default"].set("access:token:abc", 42)
        raw.set("huey.queue.x", b"task")
        assert "1 keys under kehu:" in archive.clear_cache()
        assert caches["default"].get("access:token:abc") is None and raw.get("huey.queue.x") == b"task"
    finally:
        raw.flushdb()
        caches["default"].close()
