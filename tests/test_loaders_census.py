"""Pure census readers (no database): encodings, cell markers, merged rows, the declarative
mapping, errors that name file/row/field, the 2015→2020 correspondence."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from loaders.census import harmonise_to_new_codes, parse_cell, read_census_table, read_correspondence
from loaders.census_tables import BAND_NAMES, CENSUS_TABLES
from loaders.errors import LoaderError, MappingError, ValueFormatError

from .altered import shift_codes

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
POP_2020 = FIXTURES / "census" / "2020" / "tblT001082C14130.csv"
POP_2015 = FIXTURES / "census" / "2015" / "tblT000849C14130.csv"


@pytest.fixture(scope="module")
def pop2020():
    return read_census_table(POP_2020)


def _wide(data) -> pd.DataFrame:
    return data.figures.pivot(index="key_code", columns="variable", values="value")


def test_fixture_is_cp932_with_two_header_rows():
    raw = POP_2020.read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    lines = raw.decode("cp932").splitlines()
    assert lines[0].startswith("KEY_CODE,HYOSYO,CITYNAME,NAME,HTKSYORI,HTKSAKI,GASSAN,T001082001")
    assert lines[1].startswith(",,,,,,,総数、年齢「不詳」含む")


def test_reads_cp932_and_keeps_leaf_areas_with_11_digit_keys(pop2020):
    assert pop2020.encoding == "cp932"
    assert pop2020.year == 2020 and pop2020.table.table_id == "T001082"
    keys = pop2020.areas["key_code"]
    assert keys.str.len().eq(11).all()
    # Ward (HYOSYO 1) and town aggregate rows are not leaves; towns without 丁目 are, keyed …00.
    assert not keys.isin(["14131"]).any()
    assert keys.str.endswith("00").any()
    assert pop2020.report.facts["leaf_areas"] == len(keys) == keys.nunique()


def test_utf8_file_reads_identically(tmp_path, pop2020):
    utf8 = tmp_path / "tblT001082C14130_utf8.csv"
    utf8.write_text(POP_2020.read_bytes().decode("cp932"), encoding="utf-8")
    again = read_census_table(utf8)
    assert again.encoding.startswith("utf-8")
    pd.testing.assert_frame_equal(again.figures.drop(columns="row"), pop2020.figures.drop(columns="row"))


def test_markers_become_values_with_status():
    where = dict(path=Path("f.csv"), row=3, field="T001082001")
    assert parse_cell("X", **where) == (None, "suppressed")
    assert parse_cell("-", **where) == (0.0, "zero")
    assert parse_cell("*", **where) == (None, "unknown")
    assert parse_cell("…", **where) == (None, "unknown")
    assert parse_cell("1,234", **where) == (1234.0, "ok")
    with pytest.raises(ValueFormatError) as error:
        parse_cell("12a", **where)
    assert "f.csv" in str(error.value) and "row 3" in str(error.value) and "T001082001" in str(error.value)


def test_suppressed_zero_and_merged_cells(pop2020):
    figures = pop2020.figures
    suppressed = figures[figures.status == "suppressed"]
    assert len(suppressed) > 0 and suppressed.value.isna().all()
    zero = figures[figures.status == "zero"]
    assert len(zero) > 0 and (zero.value == 0).all()
    merged = figures[figures.status == "merged"]
    assert merged.value.isna().all()
    (merged_key,) = merged.key_code.unique()
    (receiver,) = merged.merged_into.unique()
    assert len(receiver) == 11 and receiver[:9] == merged_key[:9]
    # Every variable of the merged area is marked, and the receiving area carries real numbers.
    assert set(merged.variable) == set(pop2020.table.variables)
    assert figures[(figures.key_code == receiver) & (figures.variable == "pop_total")].value.iloc[0] > 0


def test_declarative_mapping_gives_consistent_variables(pop2020):
    wide = _wide(pop2020)
    complete = wide.dropna()
    assert len(complete) > 200
    bands_t = complete[[f"pop_t_{b}" for b in BAND_NAMES]].sum(axis=1) + complete["pop_t_75_plus"]
    # Bands plus 年齢「不詳」 make the total: the bands never exceed it.
    assert (bands_t <= complete["pop_total"]).all()
    assert (complete["pop_male"] + complete["pop_female"] == complete["pop_total"]).all()
    assert (complete["pop_0_14"] == complete[["pop_t_0_4", "pop_t_5_9", "pop_t_10_14"]].sum(axis=1)).all()
    assert (complete["pop_65_plus"] == complete[["pop_t_65_69", "pop_t_70_74", "pop_75_plus"]].sum(axis=1)).all()
    for sex in "mf":
        assert (complete[f"pop_{sex}_75_plus"] <= complete["pop_75_plus"]).all()
    share = complete["pop_65_plus"] / complete["pop_total"]
    assert share.min() < 0.2 and share.max() > 0.3


def test_every_mapping_is_complete_and_unique():
    for table in CENSUS_TABLES.values():
        assert set(table.columns) == set(table.labels)
        variables = table.variables
        assert len(variables) == len(set(variables)), table.table_id
    mobility = [t for t in CENSUS_TABLES.values() if t.topic == "mobility"]
    assert {t.year for t in mobility} == {2020}


def test_year_disagreeing_with_the_table_is_refused():
    with pytest.raises(MappingError, match="2020 census, not 2015"):
        read_census_table(POP_2020, year=2015)


def test_2015_table_is_read_with_its_own_codes():
    data = read_census_table(POP_2015)
    assert data.year == 2015 and data.table.table_id == "T000849"
    assert "movers_5y" not in set(data.figures.variable)


def _rewrite(tmp_path: Path, transform) -> Path:
    lines = POP_2020.read_bytes().decode("cp932").split("\r\n")
    lines = transform(lines)
    target = tmp_path / "broken.csv"
    target.write_bytes("\r\n".join(lines).encode("cp932"))
    return target


def test_bad_cell_names_file_row_and_field(tmp_path):
    def corrupt(lines):
        cells = lines[4].split(",")
        cells[9] = "12a"
        lines[4] = ",".join(cells)
        return lines
    path = _rewrite(tmp_path, corrupt)
    with pytest.raises(ValueFormatError) as error:
        read_census_table(path)
    assert error.value.row == 5 and error.value.field == "T001082003"
    assert "broken.csv" in str(error.value)


@pytest.mark.parametrize("path", [FIXTURES / "census" / "2020" / "tblT001087C14130.csv", POP_2020,
                                  FIXTURES / "census" / "2015" / "tblT000858C14130.csv", POP_2015],
                         ids=lambda p: p.stem)
def test_columns_are_found_by_label_wherever_they_stand(tmp_path, path):
    shifted = read_census_table(shift_codes(path, tmp_path / path.name))
    original = read_census_table(path)
    pd.testing.assert_frame_equal(shifted.figures.drop(columns="row"), original.figures.drop(columns="row"))
    assert any("1 column(s) with a label the mapping does not name were ignored" in str(i)
               for i in shifted.report.issues)


def test_labels_are_compared_after_normalisation(tmp_path):
    def variants(lines):
        # half-width digits, a wave dash instead of the full-width tilde, brackets and spaces
        lines[1] = (lines[1].replace("総数、年齢「不詳」含む", "総数 (年齢不詳含む)", 1)
                    .replace("総数１５～６４歳", "総数 15〜64歳", 1))
        return lines
    again = read_census_table(_rewrite(tmp_path, variants))
    pd.testing.assert_frame_equal(again.figures.drop(columns="row"),
                                  read_census_table(POP_2020).figures.drop(columns="row"))


def test_missing_required_label_is_refused_with_a_report(tmp_path):
    def relabel(lines):
        lines[1] = lines[1].replace("総数６５歳以上", "総数６０歳以上", 1)
        return lines
    with pytest.raises(MappingError) as error:
        read_census_table(_rewrite(tmp_path, relabel))
    message = str(error.value)
    assert error.value.row == 2 and "broken.csv" in message
    assert "pop_65_plus" in message and "総数６５歳以上" in message  # the variable missing and its label
    assert "T001082019 総数６０歳以上" in message and "T001082001 総数、年齢「不詳」含む" in message  # labels found


def test_missing_optional_label_is_reported_and_not_loaded(tmp_path):
    def relabel(lines):
        lines[1] = lines[1].replace("総数０～４歳", "総数０～９歳", 1)
        return lines
    data = read_census_table(_rewrite(tmp_path, relabel))
    assert "pop_t_0_4" not in set(data.figures.variable) and "pop_65_plus" in set(data.figures.variable)
    assert any("optional variable pop_t_0_4 not loaded" in str(i) for i in data.report.issues)


def test_one_label_over_two_columns_is_refused(tmp_path):
    def duplicate(lines):
        lines[1] = lines[1].replace("総数７５歳以上", "総数６５歳以上", 1)
        return lines
    with pytest.raises(MappingError, match="two columns"):
        read_census_table(_rewrite(tmp_path, duplicate))


def test_header_only_table_is_refused(tmp_path):
    with pytest.raises(LoaderError, match="no data row"):
        read_census_table(_rewrite(tmp_path, lambda lines: lines[:2]))


def test_required_variables_are_what_the_indicators_need():
    from spatial.indicators import RATE_SPECS

    needed = {v for spec in RATE_SPECS for v in spec.numerator + spec.denominator}
    required = {v for table in CENSUS_TABLES.values() for v in table.required}
    assert needed <= required | {"pop_total"}
    for table in CENSUS_TABLES.values():
        assert table.required <= set(table.variables), table.table_id


def test_unknown_table_and_missing_columns(tmp_path):
    def rename(lines):
        lines[0] = lines[0].replace("T001082", "T009999")
        return lines
    with pytest.raises(MappingError, match="T009999"):
        read_census_table(_rewrite(tmp_path, rename))
    with pytest.raises(LoaderError, match="HTKSYORI"):
        read_census_table(_rewrite(tmp_path, lambda ls: [ls[0].replace("HTKSYORI", "FOO"), *ls[1:]]))


def test_correspondence_and_harmonising_old_figures():
    data = read_correspondence(FIXTURES / "census" / "correspondence_2015_2020.csv")
    table, report = data.frame, data.report
    assert set(table.relation) == {"rename", "split"}
    assert not report.issues
    split = table[table.relation == "split"]
    (old,) = split.old_key_code.unique()
    assert split.area_share.sum() == pytest.approx(1.0, abs=1e-3)
    data = read_census_table(POP_2015)
    harmonised = harmonise_to_new_codes(data.figures, table)
    before = data.figures[(data.figures.key_code == old) & (data.figures.variable == "pop_total")].value.iloc[0]
    after = harmonised[harmonised.key_code.isin(split.new_key_code) & (harmonised.variable == "pop_total")].value
    assert after.sum() == pytest.approx(before)
    # Renamed old codes disappear; their new codes carry the figures.
    renamed = table[table.relation == "rename"]
    assert not harmonised.key_code.isin(renamed.old_key_code).any()
    assert set(renamed.new_key_code) <= set(harmonised.key_code)
    total_before = data.figures[data.figures.variable == "pop_total"].value.sum()
    total_after = harmonised[harmonised.variable == "pop_total"].value.sum()
    assert total_after == pytest.approx(total_before)
    assert np.isfinite(total_after)


def test_correspondence_row_errors(tmp_path):
    bad = tmp_path / "corr.csv"
    bad.write_text("OLD_YEAR,OLD_KEY_CODE,NEW_YEAR,NEW_KEY_CODE,RELATION,AREA_SHARE\n"
                   "2015,14131001001,2020,14131001001,rename,1\n"
                   "2015,14131001002,2020,14131001003,moved,1\n", encoding="utf-8")
    with pytest.raises(ValueFormatError) as error:
        read_correspondence(bad)
    assert error.value.row == 3 and error.value.field == "RELATION"


def test_fixture_generator_reproduces_the_committed_files(tmp_path):
    """The committed fixtures are exactly what the seeded generator writes."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("karte_fixture_generator", FIXTURES / "generate.py")
    generator = importlib.util.module_from_spec(spec)
    import sys

    sys.modules[spec.name] = generator  # dataclasses look their module up there
    spec.loader.exec_module(generator)
    generator.main(tmp_path)
    produced = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    assert len(produced) >= 25
    for relative in produced:
        if relative.suffix in {".csv", ".geojson", ".json"}:
            assert (tmp_path / relative).read_bytes() == (FIXTURES / relative).read_bytes(), relative
        else:
            assert (FIXTURES / relative).exists(), relative
