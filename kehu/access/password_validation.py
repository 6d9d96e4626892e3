"""Password rules with messages people can read in Chinese.

Django 5.2 words the too-short message with ``%d`` while its zh_Hans catalogue still translates the
older ``%(min_length)d`` wording, so the Chinese UI showed the English sentence. This validator asks
for the wording that is translated (same rule, same figure)."""

from __future__ import annotations

from django.contrib.auth import password_validation
from django.utils.translation import ngettext


class MinimumLengthValidator(password_validation.MinimumLengthValidator):
    def get_error_message(self):
        return ngettext(
            "This password is too short. It must contain at least %(min_length)d character.",
            "This password is too short. It must contain at least %(min_length)d characters.",
            self.min_length,
        ) % {"min_length": self.min_length}
