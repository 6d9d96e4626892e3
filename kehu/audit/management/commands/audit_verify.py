from django.core.management.base import BaseCommand, CommandError

from kehu.audit.services import audit_status


class Command(BaseCommand):
    help = ("Verify the audit log's hash chain against the checkpoints (`kehu audit verify`); reports how far "
            "the chain is intact, how many entries await sealing, and exits 1 if an entry was changed or removed.")

    def handle(self, *args, **options):
        s = audit_status()
        if s.checkpoint_file:
            self.stdout.write(f"checkpoints: {s.checkpoints} in {s.checkpoint_file}")
        else:
            self.stdout.write("checkpoints: off (KEHU_AUDIT_CHECKPOINT_FILE)")
        if s.unsealed:
            self.stdout.write(f"{s.unsealed} unsealed entries (not in the chain yet; the oldest is "
                              f"{s.oldest_unsealed_age:.1f} s old): `kehu audit seal` seals them now")
        else:
            self.stdout.write("0 unsealed entries")
        if s.problems:
            for p in s.problems:
                self.stderr.write(p)
            raise CommandError(f"audit log is NOT intact: {len(s.problems)} problem(s)")
        head = f" up to entry {s.last_id} (position {s.last_seq})" if s.last_id is not None else ""
        self.stdout.write(f"audit log intact: {s.sealed} entries verified{head}")
