from django.core.management.base import BaseCommand

from kehu.customers.services import field_keys_rotate


class Command(BaseCommand):
    help = ("Re-encrypt personal fields with the first key of KEHU_FIELD_KEYS and recompute lookup hashes "
            "(`kehu keys rotate`). Put the new key first, keep the old ones after it until this has run.")

    def handle(self, *args, **options):
        counts = field_keys_rotate(actor=None)
        self.stdout.write(", ".join(f"{k}: {v} re-encrypted" for k, v in counts.items()))
