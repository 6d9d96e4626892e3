from django.core.management.base import BaseCommand

from kehu.audit.services import audit_seal


class Command(BaseCommand):
    help = ("Seal every committed audit entry into the hash chain now and write a checkpoint of the chain "
            "head (`kehu audit seal`); the worker does this on its own within about a second of each write.")

    def handle(self, *args, **options):
        n = audit_seal(checkpoint=True)
        self.stdout.write(f"{n} entries sealed")
