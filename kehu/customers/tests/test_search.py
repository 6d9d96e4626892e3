"""One search box: Chinese substrings, full pinyin, pinyin initials, mobile and USCC.

The plan (kehu.customers.search) is pure and tested without a database; the selector runs it."""

import pytest

from kehu.customers import search, selectors
from kehu.customers.tests.factories import (
    MOBILE_LI,
    MOBILE_WANG,
    build_org,
    contact,
    make_uscc,
    module_data,
    org_customer,
    person_customer,
)

# ---------------------------------------------------------------- name keys (pure)


def test_normalize_folds_full_width_case_spaces_and_punctuation():
    """全角 letters and digits become half-width, case folds, spaces and punctuation disappear."""
    assert search.normalize("ＡＢＣ 华星（杭州）石化-有限公司！") == "abc华星杭州石化有限公司"
    assert search.normalize("") == ""


def test_name_keys_carry_pinyin_initials_and_tokens():
    """华星石化 → huaxingshihua / hxsh, with bigram, initials and pinyin tokens."""
    keys = search.name_keys("华星石化")
    assert keys.normalized == "华星石化"
    assert keys.pinyin == "huaxingshihua"
    assert keys.initials == "hxsh"
    assert keys.tokens == {"n:华星", "n:星石", "n:石化", "i:hxs", "i:xsh", "i:sh",
                           "f:huax", "f:xing", "f:shih", "f:hua"}


def test_name_keys_treat_latin_runs_as_one_syllable():
    """TCL科技 → syllables tcl / ke / ji: initials tkj."""
    keys = search.name_keys("TCL科技")
    assert keys.pinyin == "tclkeji" and keys.initials == "tkj"


# ---------------------------------------------------------------- plan (pure)

def test_plan_empty_query():
    """An empty or blank query searches nothing and filters nothing."""
    assert search.plan("").kind == "empty"
    assert search.plan("   ").kind == "empty"


def test_plan_recognises_uscc_in_any_case_and_with_separators():
    """A USCC is recognised (upper-cased, spaces and dashes removed) and looked up exactly."""
    code = make_uscc(12)
    p = search.plan(code.lower()[:8] + " " + code.lower()[8:])
    assert (p.kind, p.value) == ("uscc", code)


@pytest.mark.parametrize("q", ["13812345678", "+86 138 1234 5678", "138-1234-5678", "8613812345678"])
def test_plan_recognises_mobiles(q):
    """Digits (with +, spaces, dashes) of phone length are a mobile lookup."""
    assert search.plan(q).kind == "mobile"


def test_plan_two_chinese_characters_use_one_bigram():
    """华星 is one bigram token, verified by a substring test on the normalised name."""
    p = search.plan("华星")
    assert (p.kind, p.value, p.bigrams, p.probes) == ("name", "华星", ("n:华星",), ())


def test_plan_longer_chinese_query_lists_each_bigram_once():
    """华星石化华星 → its distinct bigrams; the selector drives from the rarest."""
    p = search.plan("华星石化华星")
    assert p.bigrams == ("n:华星", "n:星石", "n:石化", "n:化华")


def test_plan_single_chinese_character_is_a_substring_scan():
    """One character has no bigram: a plain substring probe."""
    p = search.plan("华")
    assert p.probes == (search.Probe(None, None, "name_normalized", "华"),)


def test_plan_initials_query():
    """hxsh → the i:hxs token verified against the initials, or f:hxsh against the pinyin."""
    p = search.plan("hxsh")
    assert p.probes == (search.Probe("i:hxs", None, "name_initials", "hxsh"),
                        search.Probe("f:hxsh", None, "name_pinyin", "hxsh"))


def test_plan_short_latin_query_uses_token_prefixes():
    """hx (two letters) → a range of initials tokens and of pinyin tokens starting with it."""
    p = search.plan("HX")
    assert p.probes == (search.Probe(None, "i:hx", "name_initials", "hx"),
                        search.Probe(None, "f:hx", "name_pinyin", "hx"))


def test_plan_full_pinyin_query():
    """huaxing → the f:huax token verified against the full pinyin."""
    p = search.plan("huaxing")
    assert search.Probe("f:huax", None, "name_pinyin", "huaxing") in p.probes


def test_plan_digits_and_letters_are_a_name_substring():
    """3m (letters with digits, too short for a phone) searches the normalised name."""
    p = search.plan("3M")
    assert (p.kind, p.bigrams) == ("name", ("n:3m",))


def test_prefix_upper_bound():
    """The bound is just above every string with the prefix."""
    assert search.prefix_upper_bound("i:hx") == "i:hy"
    assert "i:hxz" < search.prefix_upper_bound("i:hx")


# ---------------------------------------------------------------- the selector on the database

def build_archive():
    org = build_org()
    hx = org_customer(org.rep, "浙江华星石化有限公司", serial=1)
    hxb = org_customer(org.rep, "华星石化（北京）销售有限公司", serial=2)
    dh = org_customer(org.rep, "上海东方贸易有限公司", serial=3)
    tcl = org_customer(org.rep, "TCL科技集团", serial=4)
    li = person_customer(org.rep, "李娜", mobile=MOBILE_LI)
    contact(org.rep, dh, "王强", mobile=MOBILE_WANG)
    other = org_customer(org.rep2, "华星化纤有限公司", serial=5)
    return org, {"hx": hx, "hxb": hxb, "dh": dh, "tcl": tcl, "li": li, "other": other}


archive = module_data("archive", build_archive)


def found(actor, q):
    return {c.pk for c in selectors.customer_list(actor=actor, q=q, limit=200).items}


@pytest.mark.parametrize("q,names", [
    ("华星", {"hx", "hxb"}),
    ("华星石化", {"hx", "hxb"}),
    ("浙江华星", {"hx"}),
    ("石化有限", {"hx"}),
    ("贸易", {"dh"}),
    ("华", {"hx", "hxb"}),
    ("huaxing", {"hx", "hxb"}),
    ("HuaXing", {"hx", "hxb"}),
    ("dongfang", {"dh"}),
    ("hxsh", {"hx", "hxb"}),
    ("zjhx", {"hx"}),
    ("hx", {"hx", "hxb"}),
    ("shdfmy", {"dh"}),
    ("tcl", {"tcl"}),
    ("lina", {"li"}),
    ("ln", {"li"}),
    ("华星化纤", set()),
    ("不存在的公司", set()),
])
def test_search_by_name_pinyin_and_initials(db, archive, q, names):
    """Chinese substrings (2+ characters), full pinyin and initials find exactly the matching names in scope."""
    org, rows = archive
    assert found(org.rep, q) == {rows[n].pk for n in names}


@pytest.mark.parametrize("q", ["13812345678", "+86 138 1234 5678", "138-1234-5678", "8613812345678"])
def test_search_by_contact_mobile_finds_the_customer(db, archive, q):
    """A contact's mobile, in any common format, finds their customer (exact lookup by keyed hash)."""
    org, rows = archive
    assert found(org.rep, q) == {rows["dh"].pk}


def test_search_by_person_mobile_and_by_uscc(db, archive):
    """A person customer's own mobile and an organisation's USCC are exact lookups."""
    org, rows = archive
    assert found(org.rep, MOBILE_LI) == {rows["li"].pk}
    assert found(org.rep, make_uscc(3)) == {rows["dh"].pk}
    assert found(org.rep, make_uscc(3).lower()) == {rows["dh"].pk}
    assert found(org.rep, "13800000000") == set()


def test_search_never_leaves_the_actors_scope(db, archive):
    """Search narrows the scope, never widens it: rep2 finds only their own 华星 customer."""
    org, rows = archive
    assert found(org.rep2, "华星") == {rows["other"].pk}
    assert found(org.rep2, make_uscc(1)) == set()
    assert found(org.rep2, MOBILE_WANG) == set()
    assert found(org.manager, "华星") == {rows["hx"].pk, rows["hxb"].pk, rows["other"].pk}
    assert found(org.north_manager, "华星") == set()


def test_search_combines_with_filters(db, archive):
    """The search box and the filters apply together."""
    org, rows = archive
    assert {c.pk for c in selectors.customer_list(actor=org.rep, q="华星", city="杭州市").items} == {
        rows["hx"].pk, rows["hxb"].pk}
    assert selectors.customer_list(actor=org.rep, q="华星", kind="person").items == []
