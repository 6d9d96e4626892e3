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


def test_name_keys_carry_pinyin_initials_and_terms():
    """华星石化 → huaxingshihua / hxsh, with bigram (and last character), initials and pinyin terms."""
    keys = search.name_keys("华星石化")
    assert keys.normalized == "华星石化"
    assert keys.pinyin == "huaxingshihua"
    assert keys.initials == "hxsh"
    assert keys.tokens == {"n:华星", "n:星石", "n:石化", "n:化$", "i:hxs", "i:xsh", "i:sh", "i:h",
                           "f:huax", "f:xing", "f:shih", "f:hua"}


def test_legal_form_terms_are_left_out_of_the_document():
    """有限公司 is in nearly every name: its terms select nothing and are not stored."""
    with_form = search.name_keys("华星石化有限公司").tokens
    assert {"n:有限", "n:限公", "n:公司", "n:司$", "f:gong", "i:gs"}.isdisjoint(with_form)
    assert {"n:华星", "n:化有", "i:hxs"} <= with_form  # the terms crossing into the form stay
    assert search.document(with_form).split() == sorted(with_form)


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


def _probe(terms=(), prefix=None, field="name_normalized", needle=""):
    return search.Probe(tuple(terms), prefix, field, needle)


def test_plan_two_chinese_characters_use_one_bigram():
    """华星 is one bigram term, verified by a substring test on the normalised name."""
    p = search.plan("华星")
    assert (p.kind, p.value, p.probes) == ("name", "华星", (_probe(["n:华星"], needle="华星"),))


def test_plan_longer_chinese_query_needs_each_bigram_once():
    """华星石化华星 → all its distinct bigrams, in one probe (the engine intersects them)."""
    p = search.plan("华星石化华星")
    assert p.probes[0].terms == ("n:华星", "n:星石", "n:石化", "n:化华")


def test_plan_single_chinese_character_is_a_term_prefix():
    """One character: any bigram starting with it, or the last character's n:<c>$ term."""
    p = search.plan("华")
    assert p.probes == (_probe(prefix="n:华", needle="华"),)


def test_plan_drops_legal_form_terms_and_keeps_the_substring_test():
    """石化有限 needs 石化 and 化有 only; 有限公司 needs no term at all (nearly every name has it), so
    the substring test alone answers it."""
    assert search.plan("石化有限").probes == (_probe(["n:石化", "n:化有"], needle="石化有限"),)
    p = search.plan("有限公司")
    assert p.probes == (_probe(needle="有限公司"),) and not p.probes[0].indexed
    assert not search.plan("公").probes[0].indexed  # a stop term starts with n:公


def test_plan_initials_query():
    """hxsh → every run of three initials (i:hxs and i:xsh, so the index selects the hxsh names, not every
    hxs… name) verified against the initials, or f:hxsh against the pinyin."""
    p = search.plan("hxsh")
    assert p.probes == (_probe(["i:hxs", "i:xsh"], field="name_initials", needle="hxsh"),
                        _probe(["f:hxsh"], field="name_pinyin", needle="hxsh"))


def test_plan_short_latin_query_uses_term_prefixes():
    """hx (two letters) → an initials term and a pinyin term starting with it."""
    p = search.plan("HX")
    assert p.probes == (_probe(prefix="i:hx", field="name_initials", needle="hx"),
                        _probe(prefix="f:hx", field="name_pinyin", needle="hx"))


def test_plan_full_pinyin_query():
    """huaxing → the f:huax term verified against the full pinyin."""
    p = search.plan("huaxing")
    assert _probe(["f:huax"], field="name_pinyin", needle="huaxing") in p.probes


def test_plan_digits_and_letters_are_a_name_substring():
    """3m (letters with digits, too short for a phone) searches the normalised name."""
    p = search.plan("3M")
    assert (p.kind, p.probes) == ("name", (_probe(["n:3m"], needle="3m"),))


def test_plan_last_four_digits():
    """尾号5678 is the mobiles' last four only; bare 5678 may also be inside a name."""
    assert search.plan("尾号5678") == search.Plan("last4", "5678")
    assert search.plan("5678").probes == (_probe(["n:56", "n:67", "n:78"], needle="5678"),)


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
