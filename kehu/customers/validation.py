"""Validation and normalisation of identifiers, ORM-free (USCC per GB 32100-2015, CN mobiles, ID numbers)."""

from __future__ import annotations

import phonenumbers
from stdnum.cn import ric, uscc
from stdnum.exceptions import ValidationError as StdnumError


class InvalidValue(ValueError):
    pass


def normalize_uscc(value: str) -> str:
    """Return the compact, upper-case USCC or raise InvalidValue (length, charset or check digit)."""
    try:
        return uscc.validate(value)
    except StdnumError as exc:
        raise InvalidValue(str(exc)) from exc


def normalize_mobile(value: str) -> str:
    """Return a mainland number as its 11 national digits, another country's as E.164; else raise."""
    raw = (value or "").strip()
    if not raw:
        raise InvalidValue("empty")
    try:
        number = phonenumbers.parse(raw, "CN")
    except phonenumbers.NumberParseException as exc:
        raise InvalidValue(str(exc)) from exc
    if not phonenumbers.is_valid_number(number):
        raise InvalidValue("not a valid number")
    if number.country_code == 86:
        if phonenumbers.number_type(number) not in (phonenumbers.PhoneNumberType.MOBILE,
                                                    phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE):
            raise InvalidValue("not a mobile number")
        return phonenumbers.national_significant_number(number)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_id_number(value: str) -> str:
    """Resident identity card number (18 chars, checksum and birth date checked)."""
    try:
        return ric.validate(value)
    except StdnumError as exc:
        raise InvalidValue(str(exc)) from exc
