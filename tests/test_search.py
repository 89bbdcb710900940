"""Place search: the pure name keys (no database), ``karte.layers.search.search_places`` on the demo
cities, and ``GET /api/search/``."""
from __future__ import annotations

import pytest

from karte.layers import ParameterError
from karte.layers.placenames import (
    CONTAINS,
    EXACT,
    PREFIX,
    best_rank,
    kanji_number,
    match_rank,
    name_key,
    query_keys,
    romaji_key,
)

# ------------------------------------------------------------------------------------------------
# Name keys (pure)
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("written", ["上麻生三丁目", "上麻生3丁目", "上麻生３丁目", "上麻生 ３ 丁目"])
def test_chome_written_in_kanji_or_digits_of_either_width_is_one_key(written):
    assert name_key(written) == "上麻生3丁目"


@pytest.mark.parametrize("kanji,number", [("三", 3), ("十", 10), ("十一", 11), ("二十", 20), ("二十三", 23),
                                          ("九十九", 99), ("一〇", 10), ("百五", 105)])
def test_kanji_numerals(kanji, number):
    assert kanji_number(kanji) == number


def test_numerals_become_digits_only_where_they_count_an_address():
    assert name_key("十二番地") == "12番地"
    assert name_key("四条") == "4条"
    assert name_key("三田") == "三田"  # a name, not a number
    assert name_key("九十九里") == "九十九里"


def test_width_kana_and_small_ke_fold():
    assert name_key("ｶﾜｻｷ") == name_key("カワサキ") == name_key("かわさき") == "かわさき"
    assert name_key("ＡＢＣ") == "abc"
    assert name_key("百合ヶ丘") == name_key("百合ケ丘") == name_key("百合が丘")
    assert name_key("一ノ瀬") == name_key("一の瀬")
    assert name_key("中原・市民館") == "中原市民館"
    assert name_key("1－2") == name_key("1ー2") == "1-2"
    assert name_key("") == "" and name_key(None) == ""


def test_romaji_keys_ignore_long_vowel_spellings():
    assert romaji_key("Ōzenji-Chūō") == romaji_key("Ozenji Chuo") == romaji_key("oozenjichuuou") == "ozenjichuo"


def test_a_kana_query_also_reads_as_romaji():
    keys = query_keys("ゆりがおか")
    assert keys.names == ("ゆりがおか",) and keys.romaji == "yurigaoka"
    assert query_keys("ユリガオカ").romaji == "yurigaoka"
    assert query_keys("Yurigaoka").romaji == "yurigaoka"
    assert query_keys("百合丘").romaji == ""  # kanji: no reading guessed


def test_a_numeral_typed_last_matches_the_digits_before_chome_is_typed():
    keys = query_keys("上麻生三")
    assert "上麻生3" in keys.names
    assert best_rank(keys, (name_key("上麻生三丁目"),), ()) == PREFIX


def test_match_ranks():
    assert match_rank("ab", "ab") == EXACT
    assert match_rank("ab", "abc") == PREFIX
    assert match_rank("bc", "abc") == CONTAINS
    assert match_rank("x", "abc") is None
    assert match_rank("", "abc") is None
    keys = query_keys("yurigaoka")
    assert best_rank(keys, ("百合丘小学校区",), (romaji_key("Yurigaoka Elementary School District"),)) == PREFIX
    assert not query_keys("  ・ ")


# ------------------------------------------------------------------------------------------------
# search_places on the demo cities
# ------------------------------------------------------------------------------------------------

def _chome_area():
    """A small area of the latest census named ...三丁目 (picked from the data, not assumed)."""
    from karte.models import CensusArea

    area = (CensusArea.objects.filter(census_year=2020, name_ja__endswith="三丁目", city_code__startswith="1413")
            .order_by("key_code").first())
    assert area is not None, "the demo city has a 三丁目"
    return area


def test_san_chome_in_kanji_digits_and_full_width_reach_the_same_place(demo_db, db):
    from karte.layers.search import search_places

    area = _chome_area()
    stem = area.name_ja[:-3]
    answers = [search_places(stem + suffix, limit=5) for suffix in ("三丁目", "3丁目", "３丁目", "三", "３")]
    firsts = [answer[0] for answer in answers]
    assert all(first["code"] == area.key_code and first["kind"] == "small_area" for first in firsts), firsts
    assert firsts[0]["match"] == "exact" and firsts[3]["match"] == "prefix"
    assert firsts[0]["url"] == f"/area/?codes={area.key_code}"
    west, south, east, north = firsts[0]["bbox"]
    assert west < east and south < north and 139 < west < 140 and 35 < south < 36


def test_districts_by_name_school_and_reading(demo_db, db):
    from karte.layers.search import search_places
    from karte.models import District

    district = District.objects.exclude(name_romaji="").exclude(school_name="").order_by("code").first()
    by_name = search_places(district.name_ja)
    assert by_name[0]["kind"] == "district" and by_name[0]["code"] == district.code
    assert by_name[0]["match"] == "exact" and by_name[0]["url"] == f"/districts/{district.code}/"
    assert search_places(district.school_name)[0]["code"] == district.code
    # The romaji the data gives, typed in latin letters or in kana (hiragana of its first word).
    import jaconv

    first_word = district.name_romaji.split()[0]
    assert any(r["code"] == district.code for r in search_places(first_word.lower(), limit=50))
    hiragana = jaconv.alphabet2kana(first_word.lower().replace("-", ""))
    assert any(r["code"] == district.code for r in search_places(hiragana, limit=50)), hiragana


def test_facilities_wards_and_ranking(demo_db, db):
    from karte.layers.search import search_places
    from karte.models import Resource, Ward

    hall = Resource.objects.filter(kind="civic_hall").exclude(name="").order_by("name").first()
    found = search_places(hall.name)
    assert found[0]["kind"] == "resource" and found[0]["group"] == "facility" and found[0]["match"] == "exact"
    assert found[0]["resource_kind"] == "civic_hall" and len(found[0]["point"]) == 2
    ward = Ward.objects.order_by("code").first()
    assert search_places(ward.name_ja)[0] == {**search_places(ward.name_ja)[0], "kind": "ward", "code": ward.code}
    # Exact before prefix before contains, whatever the kinds.
    ranks = [{"exact": 0, "prefix": 1, "contains": 2}[r["match"]] for r in search_places("市民館", limit=50)]
    assert ranks == sorted(ranks) and ranks
    # Areas before facilities at the same match quality.
    mixed = search_places(ward.name_ja[:-1], limit=50)
    for quality in {r["match"] for r in mixed}:
        groups = [r["group"] for r in mixed if r["match"] == quality]
        assert groups == sorted(groups)  # "area" < "facility"


def test_the_second_city_alone_and_without_wards(demo_db, second_city_db, db):
    from karte.layers.search import search_places
    from karte.models import CensusArea, District

    district = District.objects.filter(city__code="20202").order_by("code").first()
    found = search_places(district.name_ja, city="20202")
    assert found[0]["code"] == district.code and found[0]["detail"] == "松本市"
    area = CensusArea.objects.filter(city_code="20202").exclude(name_ja="").order_by("key_code").first()
    assert any(r["code"] == area.key_code for r in search_places(area.name_ja, city="20202", limit=50))
    assert all(r["city_code"] == "20202" for r in search_places("町", city="20202", limit=50))
    assert all(r["city_code"] == "14130" for r in search_places("町", city="14130", limit=50))


@pytest.mark.parametrize("q,limit,parameter", [
    (None, 10, "q"), ("   ", 10, "q"), ("x" * 101, 10, "q"), ("a\x00b", 10, "q"),
    ("百合", 0, "limit"), ("百合", 51, "limit"), ("百合", "5", "limit"), ("百合", True, "limit"),
])
def test_bad_queries_and_limits_are_parameter_errors(db, q, limit, parameter):
    from karte.layers.search import search_places

    with pytest.raises(ParameterError) as error:
        search_places(q, limit=limit)
    assert error.value.parameter == parameter


def test_unknown_city_is_a_parameter_error(db):
    from karte.layers.search import search_places

    with pytest.raises(ParameterError) as error:
        search_places("百合", city="99999")
    assert error.value.parameter == "city"


def test_the_index_is_rebuilt_when_the_data_changes(demo_db, db):
    from karte.layers.search import place_index, search_places
    from karte.models import Resource, bump_data_version

    first = place_index()
    assert place_index() is first  # kept while the data version stands
    resource = Resource.objects.exclude(name="").order_by("pk").first()
    old_name = resource.name
    Resource.objects.filter(pk=resource.pk).update(name="新しい駅前ひろば")
    bump_data_version()
    try:
        assert place_index() is not first
        assert search_places("新しい駅前")[0]["code"] == str(resource.pk)
    finally:
        Resource.objects.filter(pk=resource.pk).update(name=old_name)
        bump_data_version()


# ------------------------------------------------------------------------------------------------
# GET /api/search/
# ------------------------------------------------------------------------------------------------

def test_the_search_api(demo_db, db, client):
    area = _chome_area()
    response = client.get("/api/search/", {"q": area.name_ja[:-3] + "３丁目", "limit": "3"})
    assert response.status_code == 200 and response["Content-Type"].startswith("application/json")
    assert response.has_header("ETag")  # cached per data version like the other reads
    body = response.json()
    assert body["count"] == len(body["results"]) <= 3 and body["results"][0]["code"] == area.key_code
    again = client.get("/api/search/", {"q": area.name_ja[:-3] + "３丁目", "limit": "3"},
                       HTTP_IF_NONE_MATCH=response["ETag"])
    assert again.status_code == 304


@pytest.mark.parametrize("query,parameter", [
    ({}, "q"), ({"q": ""}, "q"), ({"q": "x" * 300}, "q"), ({"q": "a", "limit": "abc"}, "limit"),
    ({"q": "a", "limit": "0"}, "limit"), ({"q": "a", "limit": "1e309"}, "limit"), ({"q": "a", "city": "<x>"}, "city"),
    ({"q": "a", "bbox": "1,2,3,4"}, "bbox"),
])
def test_the_search_api_refuses_bad_values_by_name(db, client, query, parameter):
    response = client.get("/api/search/", query)
    assert response.status_code == 400
    assert response.json()["parameter"] == parameter
