"""The `kehu` console script: Django's manage.py with Kehu's settings as default."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kehu.settings")
    from django.core.management import execute_from_command_line

    argv = sys.argv[:]
    # `kehu user create ...` and `kehu audit verify` read better than Django's flat names.
    two_word = {("user", "create"), ("user", "deactivate"), ("audit", "verify"), ("audit", "seal"), ("keys", "rotate"), ("workdays", "seed")}
    if len(argv) >= 3 and (argv[1], argv[2]) in two_word:
        argv = [argv[0], f"{argv[1]}_{argv[2]}", *argv[3:]]
    if len(argv) >= 2 and argv[1] == "worker":  # the Huey consumer with its periodic tasks
        argv = [argv[0], "run_huey", *argv[2:]]
    execute_from_command_line(argv)


if __name__ == "__main__":
    main()
