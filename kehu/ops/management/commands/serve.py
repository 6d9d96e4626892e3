"""`kehu serve`: the production web server — gunicorn with workers and threads by cores.

Static files are served by WhiteNoise from the app; put nginx (TLS, buffering) in front and set
KEHU_TRUSTED_PROXIES / the HTTPS settings as docs/deployment.md describes."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand


def defaults() -> dict:
    """Workers: 2 × cores + 1 processes (gunicorn's advice for I/O-bound apps), 4 threads each."""
    cores = os.cpu_count() or 1
    return {
        "bind": os.environ.get("KEHU_BIND", "127.0.0.1:8000"),
        "workers": int(os.environ.get("KEHU_WEB_WORKERS", 2 * cores + 1)),
        "threads": int(os.environ.get("KEHU_WEB_THREADS", 4)),
        "timeout": int(os.environ.get("KEHU_WEB_TIMEOUT", 60)),
    }


class Command(BaseCommand):
    help = "Serve Kehu with gunicorn (production): workers and threads by cores, metrics across workers."

    def add_arguments(self, parser):
        d = defaults()
        parser.add_argument("--bind", default=d["bind"], help="address:port (KEHU_BIND)")
        parser.add_argument("--workers", type=int, default=d["workers"], help="processes (KEHU_WEB_WORKERS)")
        parser.add_argument("--threads", type=int, default=d["threads"], help="threads per process (KEHU_WEB_THREADS)")
        parser.add_argument("--timeout", type=int, default=d["timeout"], help="seconds before a stuck worker restarts")
        parser.add_argument("--check-config", action="store_true", help="print the configuration and exit")

    def handle(self, *args, **opts):
        from gunicorn.app.base import BaseApplication

        # Metrics from every worker process are summed at /metrics through files in this directory. Our
        # default one is emptied at start so a previous run's counters do not linger; an operator who sets
        # PROMETHEUS_MULTIPROC_DIR (shared with `kehu worker`, see docs/deployment.md) empties it themselves.
        given = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
        prom_dir = Path(given or Path(settings.VAR_DIR) / "prometheus")
        config = {
            "bind": opts["bind"], "workers": opts["workers"], "threads": opts["threads"],
            "worker_class": "gthread", "timeout": opts["timeout"], "graceful_timeout": 30,
            "keepalive": 5, "max_requests": 10000, "max_requests_jitter": 1000,
            "accesslog": None, "errorlog": "-", "preload_app": False,
            "child_exit": _child_exit,
        }
        if opts["check_config"]:
            shown = {k: v for k, v in config.items() if k != "child_exit"}
            self.stdout.write(" ".join(f"{k}={v}" for k, v in shown.items()) + f" metrics_dir={prom_dir}")
            return
        if not given:
            shutil.rmtree(prom_dir, ignore_errors=True)
        prom_dir.mkdir(parents=True, exist_ok=True)
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(prom_dir)
        # prometheus-client chose its value storage when Django's checks imported it; choose again now
        # that the directory is set, before gunicorn forks the workers (metrics are made on first use).
        from prometheus_client import values

        values.ValueClass = values.get_value_class()

        class KehuApplication(BaseApplication):
            def load_config(self):
                for key, value in config.items():
                    self.cfg.set(key, value)

            def load(self):
                from kehu.wsgi import application

                return application

        self.stdout.write(f"Kehu serving on http://{opts['bind']} "
                          f"({opts['workers']} workers × {opts['threads']} threads)")
        KehuApplication().run()


def _child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
