"""kehu orders_import FILE --user NAME [--payments] [--commit] [--batch N]: dry run by default."""

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from kehu.access.models import User
from kehu.errors import DomainError
from kehu.orders.imports import DEFAULT_BATCH, PG_BATCH, order_import


class Command(BaseCommand):
    help = "Import orders (or payments) from a CSV/XLSX file: dry run unless --commit."

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--user", required=True, help="who imports (scope and permission apply)")
        parser.add_argument("--payments", action="store_true")
        parser.add_argument("--commit", action="store_true")
        parser.add_argument("--batch", type=int, default=None,
                            help=f"rows per transaction (default {DEFAULT_BATCH}; {PG_BATCH} on PostgreSQL)")

    def handle(self, *args, **opts):
        actor = User.objects.filter(username=opts["user"], is_active=True).first()
        if actor is None:
            raise CommandError(f"no active user {opts['user']!r}")
        path = Path(opts["file"])
        try:
            report = order_import(actor=actor, path=path, file_name=path.name,
                                  kind="payments" if opts["payments"] else "orders", dry_run=not opts["commit"],
                                  batch_size=opts["batch"])
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(json.dumps(report.as_dict(), ensure_ascii=False, indent=1))
