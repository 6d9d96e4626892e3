from django.core.management.base import BaseCommand, CommandError

from kehu.audit.models import AuditEntry
from kehu.audit.services import audit_verify


class Command(BaseCommand):
    help = "Verify the audit log's hash chain (`kehu audit verify`); exits 1 if an entry was changed or removed."

    def handle(self, *args, **options):
        problems = audit_verify()
        if problems:
            for p in problems:
                self.stderr.write(p)
            raise CommandError(f"audit log is NOT intact: {len(problems)} problem(s)")
        self.stdout.write(f"audit log intact: {AuditEntry.objects.count()} entries verified")
