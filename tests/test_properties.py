"""Properties of identifiers, masks and search, checked with hypothesis over generated inputs."""

from __future__ import annotations

import phonenumbers
import pytest
from django.db import transaction
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from stdnum.cn import uscc as stdnum_uscc

from kehu.access import protection
from kehu.customers import search, selectors
from kehu.customers.tests.factories import build_org, module_data, org_customer
from kehu.customers.validation import InvalidValue, normalize_mobile, normalize_uscc

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"

# ---------------------------------------------------------------- USCC

uscc_bodies = st.builds(
    lambda head, org_code: head + org_code,
    st.text("0123456789", min_size=8, max_size=8),
    st.text(USCC_ALPHABET, min_size=9, max_size=9),
)


@given(uscc_bodies)
@example("91330106MA2H0K8X3")
def test_valid_uscc_is_always_accepted(body):
    """Any 17 characters of the USCC shape with stdnum's check digit appended are accepted, unchanged."""
    code = body + stdnum_uscc.calc_check_digit(body)
    assert normalize_uscc(code) == code
    assert normalize_uscc(code.lower()) == code
    assert normalize_uscc(f"{code[:2]} {code[2:8]}-{code[8:]}") == code
    assert search.plan(code).kind == "uscc"


@given(uscc_bodies, st.integers(0, 17), st.characters(codec="utf-8"))
@example("91330106MA2H0K8X3", 17, "0")
@example("91330106MA2H0K8X3", 0, "A")
def test_uscc_with_any_single_character_changed_is_refused(body, position, replacement):
    """Changing any one character of a valid USCC (to anything that is not the same letter in another
    case) makes it invalid: the check digit catches every substitution."""
    code = body + stdnum_uscc.calc_check_digit(body)
    assume(replacement.upper() != code[position] and replacement not in " -")
    changed = code[:position] + replacement + code[position + 1:]
    with pytest.raises(InvalidValue):
        normalize_uscc(changed)


# ---------------------------------------------------------------- mobiles

MOBILE_PREFIXES = ["130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152", "153",
                   "155", "156", "157", "158", "159", "166", "176", "177", "178", "180", "181", "182", "183",
                   "185", "186", "187", "188", "189", "199"]
mainland_mobiles = st.builds(lambda p, rest: p + rest, st.sampled_from(MOBILE_PREFIXES),
                             st.text("0123456789", min_size=8, max_size=8))


def spellings(m: str) -> list[str]:
    return [m, f"+86 {m[:3]} {m[3:7]} {m[7:]}", f"{m[:3]}-{m[3:7]}-{m[7:]}", f"86{m}", f"+86{m}", f"0086 {m}",
            f" {m[:3]} {m[3:7]} {m[7:]} ", f"({m[:3]}) {m[3:]}"]


@given(mainland_mobiles)
@example("13812345678")
def test_mainland_mobile_spellings_normalise_to_the_same_eleven_digits(m):
    """+86 138 1234 5678, 138-1234-5678, 8613812345678 … all normalise to 13812345678."""
    assert {normalize_mobile(s) for s in spellings(m)} == {m}


@given(mainland_mobiles, st.integers(0, 7))
def test_mobile_normalisation_is_idempotent(m, which):
    """Normalising a normalised mobile changes nothing."""
    once = normalize_mobile(spellings(m)[which])
    assert normalize_mobile(once) == once


@given(st.sampled_from(sorted(phonenumbers.SUPPORTED_REGIONS)),
       st.sampled_from([phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE]))
def test_foreign_numbers_normalise_to_e164_idempotently(region, kind):
    """Any valid foreign number normalises to E.164, and normalising that again changes nothing."""
    number = phonenumbers.example_number_for_type(region, kind)
    assume(number is not None and number.country_code != 86)
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    assume(phonenumbers.is_valid_number(number))
    once = normalize_mobile(e164)
    assert once == e164 and normalize_mobile(once) == once


def _outcome(text: str) -> str:
    try:
        return normalize_mobile(text)
    except InvalidValue:
        return "refused"


@given(st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True))
@example("13812345678")
@example("17912345678")
@example("14012345678")
def test_eleven_digits_and_the_same_with_plus_86_get_the_same_answer(digits):
    """Any 11 digits starting 13–19 are accepted or refused exactly as the same number written +86…
    (the fast path for plain digits agrees with phonenumbers)."""
    assert _outcome(digits) == _outcome("+86" + digits)


@given(st.text(max_size=20) | st.text("0123456789+- ()", min_size=5, max_size=20))
def test_mobile_normalisation_never_crashes(text):
    """Any text either normalises to a valid number or is refused with InvalidValue."""
    try:
        value = normalize_mobile(text)
    except InvalidValue:
        return
    assert normalize_mobile(value) == value


# ---------------------------------------------------------------- masks

@given(mainland_mobiles, st.text("0123456789", min_size=4, max_size=4))
def test_mobile_mask_never_leaks_the_middle_digits(m, other_middle):
    """Two mobiles differing only in digits 4–7 have the same mask: the mask holds nothing of them."""
    twin = m[:3] + other_middle + m[7:]
    masked = protection.mask_mobile(normalize_mobile(m))
    assert masked == protection.mask_mobile(normalize_mobile(twin)) == f"{m[:3]}****{m[7:]}"
    assert m not in masked


@given(st.sampled_from(sorted(phonenumbers.SUPPORTED_REGIONS)))
def test_foreign_mobile_mask_hides_at_least_four_characters(region):
    """However short a foreign number, its mask hides at least four of its characters."""
    number = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
    assume(number is not None and number.country_code != 86 and phonenumbers.is_valid_number(number))
    value = normalize_mobile(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))
    masked = protection.mask_mobile(value)
    star = masked.index("*")
    head, tail = masked[:star], masked[star:].lstrip("*")
    assert value.startswith(head) and value.endswith(tail)
    assert len(value) - len(head) - len(tail) >= 4
    assert value not in masked


@given(st.text("0123456789", min_size=17, max_size=17), st.text("0123456789X", min_size=1, max_size=1))
def test_id_number_mask_shows_only_region_and_last_four(digits, last):
    """An 18-character ID number shows its first three and last four characters only."""
    value = digits + last
    masked = protection.mask_id_number(value)
    assert masked == value[:3] + "*" * 11 + value[-4:]


# ---------------------------------------------------------------- search keys and plan (pure)

# Characters of real company names (the common ones, including polyphones such as 重/行/长).
NAME_CHARS = ("华星石化东方贸易燕山机械海天味业三一重工杭州上海北京浙江江苏广东深圳南京宁波中国有限公司集团股份"
              "科技实业发展投资控股新材料能源电子信息网络物流医药生物食品服装建设工程银行长安乐天")
names = st.text(NAME_CHARS, min_size=2, max_size=14)


@given(names, st.data())
def test_every_substring_of_two_or_more_characters_plans_a_probe_the_name_satisfies(name, data):
    """For any 2+ character substring, the plan's verifying substring is in the name's normalised form
    and each term it needs is among the name's terms."""
    keys = search.name_keys(name)
    i = data.draw(st.integers(0, len(name) - 2))
    j = data.draw(st.integers(i + 2, len(name)))
    p = search.plan(name[i:j])
    assert p.kind == "name"
    assert p.value in keys.normalized
    assert all(set(probe.terms) <= keys.tokens for probe in p.probes)


@given(names, st.data())
def test_every_initials_prefix_plans_a_probe_the_name_satisfies(name, data):
    """A prefix (2+ letters) of the name's pinyin initials matches a token of the name and its check."""
    keys = search.name_keys(name)
    k = data.draw(st.integers(2, len(keys.initials)))
    p = search.plan(keys.initials[:k])
    assert any(_probe_matches(probe, keys) for probe in p.probes)


def _probe_matches(probe: search.Probe, keys: search.NameKeys) -> bool:
    field = {"name_initials": keys.initials, "name_pinyin": keys.pinyin, "name_normalized": keys.normalized}
    if probe.needle not in field[probe.field]:
        return False
    if not set(probe.terms) <= keys.tokens:
        return False
    return probe.prefix is None or any(t.startswith(probe.prefix) for t in keys.tokens)


# ---------------------------------------------------------------- the same, through the selector on the database

def build_searcher():
    return build_org()


searcher = module_data("searcher", build_searcher)

db_settings = settings(max_examples=15, deadline=None,
                       suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@db_settings
@given(name=names, data=st.data())
@example(name="浙江华星石化有限公司", data=None)
def test_registered_name_is_found_by_any_substring_and_initials_prefix(db, searcher, name, data):
    """A customer registered under any name is found through the search box by every 2+ character
    substring of the name and by every prefix (2+ letters) of its pinyin initials."""
    with transaction.atomic():
        c = org_customer(searcher.rep, name + "有限公司")
        full = c.name
        initials = c.name_initials
        if data is None:
            subs = [full[i:j] for i in range(len(full) - 1) for j in range(i + 2, len(full) + 1)]
            prefixes = [initials[:k] for k in range(2, len(initials) + 1)]
        else:
            i = data.draw(st.integers(0, len(full) - 2))
            subs = [full[i:data.draw(st.integers(i + 2, len(full)))]]
            prefixes = [initials[:data.draw(st.integers(2, len(initials)))]]
        for q in subs + prefixes:
            page = selectors.customer_list(actor=searcher.rep, q=q, limit=200)
            assert c.pk in {x.pk for x in page.items}, q
        transaction.set_rollback(True)
