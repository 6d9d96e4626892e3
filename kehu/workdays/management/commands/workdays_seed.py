from django.core.management.base import BaseCommand, CommandError

from kehu.errors import DomainError
from kehu.workdays.services import calendar_seed


class Command(BaseCommand):
    help = ("Load the statutory holiday schedule from chinese-calendar into the holiday table (`kehu workdays "
            "seed [YEAR ...]`). Idempotent; the company's own days are kept. Run it after upgrading "
            "chinese-calendar to get a newly published year.")

    def add_arguments(self, parser):
        parser.add_argument("years", nargs="*", type=int, help="Years to load (default: every year known).")

    def handle(self, *args, years, **options):
        try:
            result = calendar_seed(actor=None, years=years or None)
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        span = f"{result['years'][0]}–{result['years'][-1]}" if result["years"] else "-"
        self.stdout.write(f"statutory schedule {span}: {result['created']} days added, "
                          f"{result['updated']} corrected")
