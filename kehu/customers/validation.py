"""Validation and normalisation of identifiers, ORM-free (USCC per GB 32100-2015, CN mobiles, ID numbers)."""

from __future__ import annotations

import re
from functools import lru_cache

import phonenumbers
from stdnum.cn import ric, uscc
from stdnum.exceptions import ValidationError as StdnumError


class InvalidValue(ValueError):
    pass


_USCC_COMPACT = re.compile(r"[0-9]{8}[0-9A-HJ-NPQRTUWXY]{10}")


def normalize_uscc(value: str) -> str:
    """Return the compact, upper-case USCC or raise InvalidValue (length, charset or check digit)."""
    # Fast path for an already compact code (the usual input): stdnum's own check digit, without its
    # generic cleaning; anything else (or a failing check) goes through stdnum.validate for its error.
    if isinstance(value, str) and _USCC_COMPACT.fullmatch(value) and uscc.calc_check_digit(value[:17]) == value[17]:
        return value
    try:
        return uscc.validate(value)
    except StdnumError as exc:
        raise InvalidValue(str(exc)) from exc


# 11 digits starting 13-19 but not 179: libphonenumber's CN carrier-prefix stripping (1[12]xx, 179xx)
# never applies to these, no fixed-line, toll-free, premium or shared-cost pattern matches them, and the
# mobile patterns are a prefix of at most 6 digits followed by \d{6,8}: their validity and type are
# decided by the first 7 digits.
_CN_MOBILE_SHAPE = re.compile(r"1(?:[3-68-9][0-9]|7[0-8])[0-9]{8}")


@lru_cache(maxsize=4096)
def _cn_mobile_prefix_error(prefix: str) -> str | None:
    """Why numbers of _CN_MOBILE_SHAPE starting with ``prefix`` (7 digits) are not CN mobiles, or None
    if they are: checked once per prefix with phonenumbers itself."""
    return _full_mobile_check(prefix + "0000")[1]


def _full_mobile_check(raw: str) -> tuple[str, str | None]:
    try:
        number = phonenumbers.parse(raw, "CN")
    except phonenumbers.NumberParseException as exc:
        return "", str(exc)
    if not phonenumbers.is_valid_number(number):
        return "", "not a valid number"
    if number.country_code == 86:
        if phonenumbers.number_type(number) not in (phonenumbers.PhoneNumberType.MOBILE,
                                                    phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE):
            return "", "not a mobile number"
        return phonenumbers.national_significant_number(number), None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), None


def normalize_mobile(value: str) -> str:
    """Return a mainland number as its 11 national digits, another country's as E.164; else raise."""
    raw = (value or "").strip()
    if not raw:
        raise InvalidValue("empty")
    if _CN_MOBILE_SHAPE.fullmatch(raw):  # the common case: 11 plain digits, checked per 7-digit prefix
        error = _cn_mobile_prefix_error(raw[:7])
        if error is not None:
            raise InvalidValue(error)
        return raw
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
