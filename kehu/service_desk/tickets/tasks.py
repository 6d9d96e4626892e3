"""Periodic work of service requests, run by `kehu worker` (Huey)."""

from django.conf import settings
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task

from kehu.service_desk.sweeps import run_sweep


@db_periodic_task(crontab(minute=f"*/{settings.KEHU_SLA_SWEEP_MINUTES}"))
@lock_task("ticket-sla-sweep")  # one sweep at a time across workers; the sweep is idempotent anyway
def service_ticket_sla_sweep():
    return run_sweep("service")  # the same code as `kehu sweep service`
