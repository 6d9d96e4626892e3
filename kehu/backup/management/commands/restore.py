from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from kehu.backup.archive import BackupError, restore


class Command(BaseCommand):
    help = ("Restore a `kehu backup` archive into an EMPTY database (the configured one: KEHU_DATABASE_URL) and "
            "an empty var directory (KEHU_VAR_DIR), then check every table's row count and checksum and every "
            "file's hash against the archive's manifest. Set the encryption keys from escrow first.")

    def add_arguments(self, parser):
        parser.add_argument("archive")

    def handle(self, *args, **options):
        try:
            restore(Path(options["archive"]), log=self.stdout.write)
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
