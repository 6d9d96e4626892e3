from django.core.management.base import BaseCommand, CommandError

from kehu.access.roles import ROLES
from kehu.access.services import user_create
from kehu.errors import DomainError


class Command(BaseCommand):
    help = 'Create a user: kehu user create --username U --password P --role R --department "总部/销售部/华东区"'

    def add_arguments(self, parser):
        parser.add_argument("--username", required=True)
        parser.add_argument("--password", required=True)
        parser.add_argument("--role", required=True, choices=sorted(ROLES))
        parser.add_argument("--department", required=True, help='path, e.g. "总部/销售部/华东区"')
        parser.add_argument("--display-name", default="")
        parser.add_argument("--email", default="")

    def handle(self, *args, **o):
        try:
            user = user_create(actor=None, username=o["username"], password=o["password"], role=o["role"],
                               department_path=o["department"], display_name=o["display_name"], email=o["email"])
        except DomainError as exc:
            raise CommandError(f"{exc.message} {exc.fields or ''}".strip()) from exc
        self.stdout.write(f"created {user.username} ({user.role}) in {user.department.full_name()}")
