from django.core.management.base import BaseCommand, CommandError

from kehu.access.models import User
from kehu.access.services import user_deactivate
from kehu.errors import DomainError


class Command(BaseCommand):
    help = "Deactivate a user at once, ending their sessions and API tokens: kehu user deactivate <username>"

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, **o):
        user = User.objects.filter(username=o["username"]).first()
        if user is None:
            raise CommandError(f"no user {o['username']!r}")
        try:
            user = user_deactivate(actor=None, user_id=user.pk)
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(f"deactivated {user.username}: sessions and API tokens ended")
