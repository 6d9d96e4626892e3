from django.core.management.base import BaseCommand, CommandError

from kehu.service_desk.sweeps import SWEEPS, run_sweep


class Command(BaseCommand):
    help = ("Run the SLA sweep now (`kehu sweep complaints|service`, both when none is named): the same "
            "code as the worker's periodic task; prints what it marked breached, escalated or reminded.")

    def add_arguments(self, parser):
        parser.add_argument("which", nargs="*", help="complaints, service (default: both)")

    def handle(self, *args, **options):
        names = options["which"] or sorted(SWEEPS)
        unknown = [n for n in names if n not in SWEEPS]
        if unknown:
            raise CommandError(f"unknown sweep {', '.join(unknown)}; choose from {', '.join(sorted(SWEEPS))}")
        for name in names:
            counts = run_sweep(name)
            self.stdout.write(f"{name}: " + ", ".join(f"{k}={v}" for k, v in counts.items()))
