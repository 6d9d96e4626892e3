from django.contrib.auth.hashers import Argon2PasswordHasher


class TestArgon2PasswordHasher(Argon2PasswordHasher):
    """Argon2id with minimal cost, for the test suite only (real hashes, 100× faster)."""

    time_cost = 1
    memory_cost = 256
    parallelism = 1
