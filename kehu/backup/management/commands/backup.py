import datetime as dt
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from kehu.backup.archive import BackupError, backup


class Command(BaseCommand):
    help = ("Back up the database (SQLite: online backup API; PostgreSQL: pg_dump -Fc of one snapshot) and the "
            "var/ files (uploads, attachments, audit checkpoints) into one tar archive with a manifest of row "
            "counts and checksums per table. The encryption keys are not included: keep them in escrow.")

    def add_arguments(self, parser):
        parser.add_argument("--output", "-o", help="archive path (.tar, or .tar.gz to compress); default "
                                                   "$KEHU_VAR_DIR/backups/kehu-<UTC time>.tar")

    def handle(self, *args, **options):
        output = options.get("output")
        if not output:
            stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
            output = Path(settings.VAR_DIR) / "backups" / f"kehu-{stamp}.tar"
        try:
            backup(Path(output), log=self.stdout.write)
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
