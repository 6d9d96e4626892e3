"""Personal fields at rest (MultiFernet, rotatable; keyed lookup hash) and on display (masks)."""

import datetime as dt

import pytest
from cryptography.fernet import Fernet

from kehu.access import protection


def test_encrypt_round_trips_and_hides_the_value():
    """A value encrypts to a token that does not contain it and decrypts back."""
    token = protection.encrypt("13812345678")
    assert "13812345678" not in token and token != protection.encrypt("13812345678")  # random IV
    assert protection.decrypt(token) == "13812345678"
    assert protection.encrypt("") == "" and protection.decrypt("") == ""


def test_key_rotation_old_values_stay_readable_and_rotate_to_the_new_key(settings):
    """Putting a new key first keeps old ciphertexts readable; rotate() re-encrypts with the new key."""
    old_key = settings.FIELD_KEYS[0]
    token = protection.encrypt("13812345678")
    new_key = Fernet.generate_key().decode()
    settings.FIELD_KEYS = [new_key, old_key]
    assert protection.decrypt(token) == "13812345678"
    rotated = protection.rotate(token)
    settings.FIELD_KEYS = [new_key]
    assert protection.decrypt(rotated) == "13812345678"
    with pytest.raises(RuntimeError):
        protection.decrypt(token)  # the old key was dropped before this value was rotated


def test_lookup_hash_is_keyed_and_deterministic(settings):
    """The lookup hash is the same for the same value and changes with the key (no rainbow tables)."""
    a = protection.lookup_hash("13812345678")
    assert a == protection.lookup_hash("13812345678") and len(a) == 64
    assert a != protection.lookup_hash("13812345679")
    settings.LOOKUP_KEY = "another-deployment"
    assert protection.lookup_hash("13812345678") != a
    assert protection.lookup_hash("") == ""


def test_mask_mainland_mobile_keeps_prefix_and_last_four():
    """138****5678."""
    assert protection.mask_mobile("13812345678") == "138****5678"
    assert protection.mask_mobile("") == ""


@pytest.mark.parametrize("number", ["+6837012", "+2908999", "+68522123", "+681821234", "+447911123456"])
def test_mask_foreign_number_hides_at_least_four_characters(number):
    """A short foreign number (Niue +683 7012) is never shown whole: at least four characters hidden."""
    masked = protection.mask_mobile(number)
    shown = masked.replace("*", "")
    assert masked.count("*") >= 4
    assert len(shown) <= len(number) - 4
    assert number.startswith(shown[: masked.index("*")]) and number.endswith(shown[masked.index("*"):])


def test_mask_id_number_keeps_region_and_last_four():
    """110***********002X."""
    assert protection.mask_id_number("11010519491231002X") == "110***********002X"


def test_mask_date_and_text_hide_everything():
    """Birthdays and traits are masked whole."""
    assert protection.mask_date(dt.date(1978, 5, 12)) == "****-**-**"
    assert protection.mask_text("喜欢打高尔夫") == "******"
    assert protection.mask_date(None) == "" and protection.mask_text("") == ""
