"""Settings for the test suite: production settings plus a test flag (no secret needed) and a cheap
Argon2 (still Argon2, so the hashing path is the real one)."""

import os

os.environ.setdefault("KEHU_TESTING", "1")

from kehu.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["kehu.access.hashers.TestArgon2PasswordHasher"]
