"""Name cores, blocking and pair rules of duplicate detection (pure, no database)."""

from hypothesis import given
from hypothesis import strategies as st

from kehu.customers import dedupe


def test_legal_form_and_bracketed_region_removed_from_core():
    """北京华星石化有限公司 and 华星石化(北京)股份有限公司 share the core 华星石化."""
    assert dedupe.name_core("北京华星石化有限公司") == "华星石化"
    assert dedupe.name_core("华星石化(北京)股份有限公司") == "华星石化"
    assert dedupe.name_core("华星石化（北京）有限责任公司") == "华星石化"
    assert dedupe.name_score("北京华星石化有限公司", "华星石化(北京)股份有限公司") == 100


def test_province_city_prefixes_and_group_words_removed():
    """浙江省杭州… and …集团有限公司 / …分公司 reduce to the same core."""
    assert dedupe.name_core("浙江省杭州娃哈哈集团有限公司") == "娃哈哈"
    assert dedupe.name_core("娃哈哈集团公司杭州分公司") == "娃哈哈"
    assert dedupe.name_core("上海华谊控股集团") == "华谊"


def test_full_width_and_latin_names_normalised():
    """全角 punctuation and Latin legal forms fold away."""
    assert dedupe.name_core("ＡＢＣ化工（上海）有限公司") == "abc化工"
    assert dedupe.name_core("Huaxing Petrochem Co., Ltd.") == "huaxingpetrochem"


def test_a_name_never_reduced_to_nothing():
    """A name that is only an affix keeps something to compare."""
    assert dedupe.name_core("北京公司")
    assert dedupe.name_core("上海") == "上海"


def test_configurable_affix_list():
    """A custom affix list is honoured (e.g. an industry word a company treats as generic)."""
    aff = dedupe.affixes(legal_forms=("有限公司", "石化"), regions=("北京",))
    assert dedupe.name_core("北京华星石化有限公司", aff) == "华星"


def test_similar_names_paired_within_blocks_above_threshold():
    """A one-character variant scores above 70; unrelated names do not pair."""
    pairs = dedupe.name_pairs([(1, "华星石化"), (2, "华星石化"), (3, "华兴石化"), (4, "万华化学")], 70)
    assert pairs[(1, 2)] == 100.0
    assert pairs[(1, 3)] == 75.0
    assert not any(4 in p for p in pairs)


def test_typo_in_first_characters_found_through_last_block_key():
    """Blocking on both ends: 华星石化 vs 化星石化 share the last bigram."""
    pairs = dedupe.name_pairs([(1, "华星石化集团"), (2, "化星石化集团")], 80)
    assert (1, 2) in pairs


def test_exact_pairs_group_shared_keys_and_ignore_blanks():
    """Same key → pair; blank keys never pair; a key shared by many becomes a star."""
    assert dedupe.exact_pairs([(1, "a"), (2, "a"), (3, ""), (4, "")]) == {(1, 2): "a"}
    many = dedupe.exact_pairs((i, "switchboard") for i in range(1, 30))
    assert len(many) == 28 and all(a == 1 for a, _b in many)


@given(st.lists(st.text(alphabet="华星石化万兴科技有限公司北京", min_size=2, max_size=8), min_size=2, max_size=12))
def test_name_pairs_are_ordered_and_within_range(names):
    """Every pair is (a < b) with a score in [threshold, 100]."""
    pairs = dedupe.name_pairs(list(enumerate(names, start=1)), 60)
    for (a, b), score in pairs.items():
        assert a < b and 60 <= score <= 100


def test_large_blocks_split_further_and_still_pair():
    """A block over the size limit is split by a longer prefix; near-identical names still pair."""
    cores = [(i + 1, f"华星{chr(0x4e00 + i)}石化集团") for i in range(40)] + [(100, "华星一石化集团公")]
    pairs = dedupe.name_pairs(cores, 90, max_block=5)
    assert (1, 100) in pairs


def test_generic_core_shared_by_many_proposes_nothing_but_same_city_twins_pair():
    """60 companies whose core is 建筑工程 are not one company; two of them in one city still pair
    when the large group is split by area."""
    cores = [(i, "建筑工程") for i in range(1, 61)]
    assert dedupe.name_pairs(cores, 90) == {}
    areas = {i: f"城市{i}" for i in range(1, 61)} | {7: "杭州市", 9: "杭州市"}
    assert dedupe.name_pairs(cores, 90, areas=areas) == {(7, 9): 100.0}
