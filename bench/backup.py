"""`python -m bench.backup --scale 100000 [--db sqlite|postgres] [--reuse]`: `kehu backup` and `kehu restore`
timed at a given scale, each beside the raw tool doing the copy alone.

Dataset: bench.run's (customers with contacts through customer_bulk_create; var/bench/kehu-<scale>.sqlite3 or
the PostgreSQL database $KEHU_BENCH_PG_DB, default kehu_bench; ``--reuse`` keeps it). The archive and the
restored copy go to a temporary directory (SQLite) or the database <KEHU_BENCH_PG_DB>_restore (PostgreSQL),
dropped afterwards; never in git.

Figures (one JSON line each, also written to bench/results/backup-<db>-<scale>.json):

* backup_seconds — the whole `kehu backup`: snapshot copy, per-table counts and checksums, var/ files, tar;
  raw: SQLite ``Connection.backup`` into a file (what `sqlite3 .backup` does), PostgreSQL ``pg_dump -Fc``;
* restore_seconds — the whole `kehu restore` into an empty database, checksums recomputed and compared;
  raw: SQLite ``Connection.backup`` back, PostgreSQL ``pg_restore`` into an empty database.
The difference is mostly the checksums (every row read and hashed in Python, twice on restore: once
restored, once compared), the price of "identical row counts and checksums" being proven, not assumed.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import tempfile
import time
from pathlib import Path

from bench import run

RESULTS = Path(__file__).resolve().parent / "results"


def _pg(name: str) -> dict:
    return {"NAME": name, "USER": "postgres", "PASSWORD": "", "HOST": "127.0.0.1", "PORT": "5432"}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=int, default=20000)
    ap.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    ap.add_argument("--reuse", action="store_true")
    args = ap.parse_args(argv)
    url = run.configure(args.db, args.scale)
    # bench.run's raw-insert comparison is not needed here (and fails on PostgreSQL's generated search column)
    run.raw_load_rate = lambda db, scale: None
    run.build(args.db, args.scale, args.reuse)
    import django

    django.setup()
    from kehu.backup import archive

    rows = []
    with tempfile.TemporaryDirectory(prefix="kehu-bench-backup-") as tmp:
        tmp = Path(tmp)
        var = tmp / "var"
        var.mkdir()
        out = tmp / "kehu.tar"
        if args.db == "sqlite":
            source = Path(url.removeprefix("sqlite:///"))
            target = archive.Target("sqlite", path=source)
        else:
            target = archive.Target("postgresql", db=_pg(run.PG_DB))
        t = time.perf_counter()
        manifest = archive.backup(out, target=target, var_dir=var, log=lambda _m: None)
        backup_s = time.perf_counter() - t
        t = time.perf_counter()
        if args.db == "sqlite":
            src, dst = sqlite3.connect(source), sqlite3.connect(tmp / "raw.sqlite3")
            src.backup(dst, pages=4096)
            src.close()
            dst.close()
        else:
            subprocess.run([archive.pg_tool("pg_dump"), "-Fc", "-f", str(tmp / "raw.dump"), "-h", "127.0.0.1",
                            "-U", "postgres", "-d", run.PG_DB], check=True)
        raw_backup_s = time.perf_counter() - t

        var2 = tmp / "var2"
        var2.mkdir()
        if args.db == "sqlite":
            restored = archive.Target("sqlite", path=tmp / "restored.sqlite3")
        else:
            run.pg_recreate(run.PG_DB + "_restore")
            restored = archive.Target("postgresql", db=_pg(run.PG_DB + "_restore"))
        t = time.perf_counter()
        archive.restore(out, target=restored, var_dir=var2, log=lambda _m: None)
        restore_s = time.perf_counter() - t
        t = time.perf_counter()
        if args.db == "sqlite":
            src, dst = sqlite3.connect(tmp / "raw.sqlite3"), sqlite3.connect(tmp / "raw-restored.sqlite3")
            src.backup(dst, pages=4096)
            src.close()
            dst.close()
        else:
            run.pg_recreate(run.PG_DB + "_raw")
            subprocess.run([archive.pg_tool("pg_restore"), "--no-owner", "-h", "127.0.0.1", "-U", "postgres",
                            "-d", run.PG_DB + "_raw", str(tmp / "raw.dump")], check=True)
        raw_restore_s = time.perf_counter() - t
        if args.db == "postgres":
            import psycopg

            with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
                for suffix in ("_restore", "_raw"):
                    conn.execute(f'DROP DATABASE IF EXISTS "{run.PG_DB}{suffix}" WITH (FORCE)')
        total_rows = sum(t["rows"] for t in manifest["tables"].values())
        for name, seconds, raw in (("backup_seconds", backup_s, raw_backup_s),
                                   ("restore_seconds", restore_s, raw_restore_s)):
            row = {"name": name, "db": args.db, "scale": args.scale, "rows": total_rows,
                   "archive_bytes": out.stat().st_size, "seconds": round(seconds, 2),
                   "raw_seconds": round(raw, 2), "ratio": round(seconds / raw, 1) if raw else None}
            rows.append(row)
            print(json.dumps(row), flush=True)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"backup-{args.db}-{args.scale}.json").write_text(json.dumps(rows, indent=1) + "\n")
    os.environ.pop("KEHU_DATABASE_URL", None)


if __name__ == "__main__":
    main()
