"""`kehu backup` / `kehu restore`: the database and the var/ files in one tar archive with a manifest.

- SQLite: the online backup API (sqlite3 Connection.backup) copies a consistent snapshot while the
  application keeps running; the snapshot's rows are counted and checksummed from the copy.
- PostgreSQL: `pg_dump -Fc` of a snapshot exported by the transaction that counts and checksums the rows
  (`--snapshot`), so the manifest describes exactly the dump; `pg_restore` into an empty database.
- var/: the stored uploads (encrypted), attachments, the audit checkpoint file — every file except the
  SQLite database itself and the task queue.

The manifest lists, per table, the row count and an order-independent checksum of the rows as the database
returns them; restore recomputes both and refuses to call a restore good if one differs. Timestamps are
copied by the engines' own formats (microseconds kept), so the audit chain verifies after a restore —
unlike Django's dumpdata/loaddata.

The encryption keys (KEHU_FIELD_KEYS, KEHU_LOOKUP_KEY, KEHU_SECRET_KEY) are NOT in the archive, on purpose:
a key-escrow reminder is printed and written into the archive."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

FORMAT = 1
SKIP_VAR = ("huey.sqlite3", "backups", "cache")  # the task queue and the file cache (transient), backups themselves

KEY_REMINDER = (
    "KEY ESCROW: this backup does NOT contain the encryption keys. Mobiles, ID numbers and the stored upload "
    "files are encrypted with KEHU_FIELD_KEYS (the lookup hashes use KEHU_LOOKUP_KEY, sessions and tokens "
    "KEHU_SECRET_KEY). They live in the service's environment (the systemd EnvironmentFile, e.g. "
    "/etc/kehu/kehu.env), not in the database nor in var/. Keep a copy of them in escrow (a sealed envelope, "
    "a password manager, an HSM) apart from the backups: without them the encrypted fields and files of "
    "this backup are lost for good; with them and the backup together, everything is readable."
)


class BackupError(Exception):
    """A backup or restore that cannot be done (missing tool, target not empty, checksum mismatch)."""


@dataclass
class Target:
    """Where a database is: an SQLite file or a PostgreSQL connection (Django's settings dict)."""

    engine: str  # "sqlite" | "postgresql"
    path: Path | None = None  # sqlite
    db: dict | None = None  # postgresql: NAME, USER, PASSWORD, HOST, PORT


def target_from_settings(alias: str = "default") -> Target:
    db = settings.DATABASES[alias]
    if db["ENGINE"].endswith("sqlite3"):
        return Target("sqlite", path=Path(str(db["NAME"])))
    if "postgresql" in db["ENGINE"]:
        return Target("postgresql", db=dict(db))
    raise BackupError(f"unsupported database engine {db['ENGINE']}")


# ---------------------------------------------------------------- checksums

def _value(v):
    if isinstance(v, memoryview):
        return bytes(v)
    return v


def _checksum_rows(cursor, table: str, quoted: str) -> dict:
    cursor.execute(f"SELECT * FROM {quoted}")  # noqa: S608 - table names come from the catalogue
    n, acc = 0, 0
    while rows := cursor.fetchmany(5000):
        for r in rows:
            digest = hashlib.sha256(repr(tuple(_value(v) for v in r)).encode()).digest()
            acc = (acc + int.from_bytes(digest[:16], "big")) % (1 << 128)
            n += 1
    return {"rows": n, "checksum": f"{acc:032x}"}


def sqlite_tables(conn: sqlite3.Connection) -> list[str]:
    return [r[0] for r in conn.execute(
        "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' "
        "AND sql NOT LIKE 'CREATE VIRTUAL%' ORDER BY name")]


def sqlite_checksums(path: Path) -> dict:
    """Counts and checksums of every table of an SQLite file (raw values: no type conversion)."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        cur = conn.cursor()
        return {t: _checksum_rows(cur, t, '"' + t.replace('"', '""') + '"') for t in sqlite_tables(conn)}
    finally:
        conn.close()


def _pg_connect(db: dict, dbname: str | None = None):
    import psycopg

    conn = psycopg.connect(dbname=dbname or db["NAME"], user=db.get("USER") or None,
                           password=db.get("PASSWORD") or None, host=db.get("HOST") or None,
                           port=db.get("PORT") or None, autocommit=True)
    conn.execute("SET TIME ZONE 'UTC'")
    return conn


def pg_tables(cur) -> list[str]:
    cur.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")
    return [r[0] for r in cur.fetchall()]


def pg_checksums_in(cur) -> dict:
    return {t: _checksum_rows(cur, t, '"' + t.replace('"', '""') + '"') for t in pg_tables(cur)}


def pg_checksums(db: dict) -> dict:
    conn = _pg_connect(db)
    try:
        with conn.cursor() as cur:
            return pg_checksums_in(cur)
    finally:
        conn.close()


# ---------------------------------------------------------------- tools

def pg_tool(name: str) -> str:
    """The path of pg_dump / pg_restore: KEHU_PG_BIN_DIR, else PATH, else the newest /usr/lib/postgresql/*/bin."""
    configured = getattr(settings, "KEHU_PG_BIN_DIR", "") or os.environ.get("KEHU_PG_BIN_DIR", "")
    candidates = [Path(configured) / name] if configured else []
    found = shutil.which(name)
    if found:
        candidates.append(Path(found))
    candidates += sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True)
    for c in candidates:
        if c.is_file() and os.access(c, os.X_OK):
            return str(c)
    raise BackupError(f"{name} was not found: install the PostgreSQL client (e.g. apt-get install "
                      f"postgresql-client) or set KEHU_PG_BIN_DIR to the directory that holds it")


def _pg_env(db: dict) -> dict:
    env = dict(os.environ)
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = str(db["PASSWORD"])
    return env


def _pg_args(db: dict, dbname: str | None = None) -> list[str]:
    args = []
    if db.get("HOST"):
        args += ["-h", str(db["HOST"])]
    if db.get("PORT"):
        args += ["-p", str(db["PORT"])]
    if db.get("USER"):
        args += ["-U", str(db["USER"])]
    return [*args, "-d", dbname or str(db["NAME"])]


# ---------------------------------------------------------------- var files

def _var_files(var_dir: Path, exclude: set[Path]) -> list[Path]:
    if not var_dir.exists():
        return []
    out = []
    for p in sorted(var_dir.rglob("*")):
        if not p.is_file() or p.resolve() in exclude:
            continue
        rel = p.relative_to(var_dir)
        if rel.parts[0] in SKIP_VAR or rel.name.startswith(SKIP_VAR[0]) or rel.name.startswith(".upload-"):
            continue
        out.append(p)
    return out


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _sqlite_side_files(path: Path) -> set[Path]:
    return {Path(str(path) + s).resolve() for s in ("", "-wal", "-shm", "-journal")}


def key_fingerprint() -> str:
    """Which keys encrypted the data (a hash of the encrypting key, not the key): restore warns on a mismatch."""
    keys = list(getattr(settings, "FIELD_KEYS", []) or [])
    return hashlib.sha256(("kehu-key-fingerprint:" + (keys[0] if keys else "")).encode()).hexdigest()[:16]


# ---------------------------------------------------------------- backup

def backup(output: Path, *, target: Target | None = None, var_dir: Path | None = None,
           sqlite_source: sqlite3.Connection | None = None, log: Callable[[str], None] = print) -> dict:
    """Write the archive; returns its manifest. ``sqlite_source``: an open connection to copy from (the
    application's own, e.g. an in-memory test database) instead of opening the file."""
    target = target or target_from_settings()
    var_dir = Path(var_dir or settings.VAR_DIR)
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    started = dt.datetime.now(dt.UTC)
    with tempfile.TemporaryDirectory(prefix="kehu-backup-") as tmp:
        tmp = Path(tmp)
        exclude: set[Path] = {output.resolve()}
        if target.engine == "sqlite":
            db_file = tmp / "kehu.sqlite3"
            dst = sqlite3.connect(db_file)
            src = sqlite_source or sqlite3.connect(f"file:{target.path}?mode=ro", uri=True)
            try:
                src.backup(dst, pages=4096)
            finally:
                dst.close()
                if sqlite_source is None:
                    src.close()
            tables = sqlite_checksums(db_file)
            member = "database/kehu.sqlite3"
            if target.path is not None:
                exclude |= _sqlite_side_files(target.path)
        else:
            db_file = tmp / "kehu.dump"
            conn = _pg_connect(target.db)
            try:
                conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                snapshot = conn.execute("SELECT pg_export_snapshot()").fetchone()[0]
                with conn.cursor() as cur:
                    tables = pg_checksums_in(cur)
                done = subprocess.run([pg_tool("pg_dump"), "-Fc", "--no-owner", "--no-privileges",
                                       f"--snapshot={snapshot}", "-f", str(db_file), *_pg_args(target.db)],
                                      env=_pg_env(target.db), capture_output=True, text=True)
                if done.returncode:
                    raise BackupError(f"pg_dump failed: {done.stderr.strip()[:2000]}")
            finally:
                conn.execute("ROLLBACK")
                conn.close()
            member = "database/kehu.dump"
        files = {}
        var_paths = _var_files(var_dir, exclude)
        for p in var_paths:
            files[str(p.relative_to(var_dir))] = {"bytes": p.stat().st_size, "sha256": _sha256(p)}
        manifest = {
            "format": FORMAT, "created_at": started.isoformat(), "engine": target.engine, "database": member,
            "database_sha256": _sha256(db_file), "tables": tables, "files": files,
            "key_fingerprint": key_fingerprint(), "keys_included": False, "key_escrow": KEY_REMINDER,
        }
        partial = output.with_name(output.name + ".part")
        mode = "w:gz" if output.name.endswith((".tar.gz", ".tgz")) else "w"
        with tarfile.open(partial, mode) as tar:
            data = json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True).encode()
            info = tarfile.TarInfo("manifest.json")
            info.size, info.mtime = len(data), int(started.timestamp())
            tar.addfile(info, io.BytesIO(data))
            note = (KEY_REMINDER + "\n").encode()
            info = tarfile.TarInfo("KEYS-NOT-INCLUDED.txt")
            info.size, info.mtime = len(note), int(started.timestamp())
            tar.addfile(info, io.BytesIO(note))
            tar.add(db_file, arcname=member)
            for p in var_paths:
                tar.add(p, arcname="var/" + str(p.relative_to(var_dir)))
        os.replace(partial, output)
    log(f"backup written: {output} ({output.stat().st_size} bytes; {len(tables)} tables, "
        f"{sum(t['rows'] for t in tables.values())} rows, {len(files)} var files)")
    log(KEY_REMINDER)
    return manifest


# ---------------------------------------------------------------- restore

def read_manifest(archive: Path) -> dict:
    with tarfile.open(archive) as tar:
        return json.loads(tar.extractfile("manifest.json").read())


def _sqlite_is_empty(path: Path) -> bool:
    if not path.exists() or path.stat().st_size == 0:
        return True
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return not sqlite_tables(conn)
    finally:
        conn.close()


def _pg_is_empty(db: dict) -> bool:
    conn = _pg_connect(db)
    try:
        with conn.cursor() as cur:
            return not pg_tables(cur)
    finally:
        conn.close()


def clear_cache() -> str:
    """Drop Kehu's cached rows (token → user, session users, scopes) after a restore: they describe the database
    that was there before. On Redis only Kehu's keys go (``<KEY_PREFIX>:*``, scanned), never the whole Redis
    database, which a deployment may share with the task queue; a file or memory cache is cleared whole."""
    from django.core.cache import caches

    done = []
    for alias, conf in settings.CACHES.items():
        cache, prefix = caches[alias], conf.get("KEY_PREFIX")
        if conf["BACKEND"].endswith("RedisCache") and prefix:
            client = cache._cache.get_client(write=True)
            keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
            for i in range(0, len(keys), 1000):
                client.delete(*keys[i:i + 1000])
            done.append(f"{alias} ({len(keys)} keys under {prefix}:)")
        else:
            cache.clear()
            done.append(alias)
    return "the cache " + ", ".join(done)


def restore(archive: Path, *, target: Target | None = None, var_dir: Path | None = None,
            log: Callable[[str], None] = print) -> dict:
    """Restore an archive into an EMPTY database and var dir, then recompute every table's count and checksum
    and every file's hash against the manifest (BackupError on any difference). Returns the comparison."""
    target = target or target_from_settings()
    var_dir = Path(var_dir or settings.VAR_DIR)
    archive = Path(archive)
    manifest = read_manifest(archive)
    if manifest.get("format") != FORMAT:
        raise BackupError(f"unknown archive format {manifest.get('format')}")
    if manifest["engine"] != target.engine:
        raise BackupError(f"the archive holds a {manifest['engine']} database; the target is {target.engine}")
    db_side = _sqlite_side_files(target.path) if target.engine == "sqlite" else set()
    if target.engine == "sqlite" and not _sqlite_is_empty(target.path):
        raise BackupError(f"the target database {target.path} is not empty: restore into an empty database")
    if target.engine == "postgresql" and not _pg_is_empty(target.db):
        raise BackupError(f"the target database {target.db['NAME']} is not empty: create an empty one "
                          "(createdb) and restore into it")
    present = _var_files(var_dir, db_side)
    if present:
        raise BackupError(f"the var directory {var_dir} is not empty ({len(present)} files, e.g. "
                          f"{present[0].name}): restore into an empty one")
    with tempfile.TemporaryDirectory(prefix="kehu-restore-") as tmp, tarfile.open(archive) as tar:
        tmp = Path(tmp)
        member = tar.getmember(manifest["database"])
        tar.extract(member, tmp, filter="data")
        db_file = tmp / manifest["database"]
        if _sha256(db_file) != manifest["database_sha256"]:
            raise BackupError("the database copy in the archive is damaged (SHA-256 differs from the manifest)")
        if target.engine == "sqlite":
            target.path.parent.mkdir(parents=True, exist_ok=True)
            src, dst = sqlite3.connect(db_file), sqlite3.connect(target.path)
            try:
                src.backup(dst, pages=4096)
            finally:
                src.close()
                dst.close()
            tables = sqlite_checksums(target.path)
        else:
            done = subprocess.run([pg_tool("pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error",
                                   *_pg_args(target.db), str(db_file)],
                                  env=_pg_env(target.db), capture_output=True, text=True)
            if done.returncode:
                raise BackupError(f"pg_restore failed: {done.stderr.strip()[:2000]}")
            tables = pg_checksums(target.db)
        var_dir.mkdir(parents=True, exist_ok=True)
        for m in tar.getmembers():
            if m.name.startswith("var/") and m.isfile():
                m.name = m.name[len("var/"):]
                tar.extract(m, var_dir, filter="data")
    problems = []
    for name, expected in manifest["tables"].items():
        got = tables.get(name)
        if got != expected:
            problems.append(f"table {name}: expected {expected}, restored {got}")
    for name in set(tables) - set(manifest["tables"]):
        problems.append(f"table {name}: not in the backup")
    for rel, expected in manifest["files"].items():
        p = var_dir / rel
        if not p.exists() or _sha256(p) != expected["sha256"]:
            problems.append(f"file {rel}: missing or different")
    if problems:
        raise BackupError("restore differs from the backup:\n" + "\n".join(problems[:50]))
    cleared = clear_cache()
    log(f"cleared {cleared}: cached users and tokens of the database that was there before")
    log(f"restored {archive}: {len(tables)} tables, {sum(t['rows'] for t in tables.values())} rows and "
        f"{len(manifest['files'])} var files, counts and checksums identical to the backup's manifest")
    if manifest.get("key_fingerprint") != key_fingerprint():
        log("WARNING: the configured KEHU_FIELD_KEYS are not the keys this backup was encrypted with: set the "
            "keys from escrow before starting Kehu, or the encrypted fields and files cannot be read.")
    log(KEY_REMINDER)
    log("next: `kehu audit verify` (the audit chain and its checkpoints were restored as they were)")
    return {"tables": tables, "files": len(manifest["files"])}
