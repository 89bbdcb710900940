"""Altered copies of the fixtures, as real files come: other column numbering, cut files, wrong
CRS declarations. Each helper writes into a folder it is given (a test's tmp_path), never into
fixtures/."""
from __future__ import annotations

from pathlib import Path


def shift_codes(source: Path, target: Path, label: str = "世帯総数（施設等の世帯を含む）") -> Path:
    """A copy of an e-Stat table numbered as another layout would be: one extra leading value
    column (code …001, ``label``, cells copied from the first value column) and every other column
    code one higher. Same figures, other numbering."""
    lines = source.read_bytes().decode("cp932").split("\r\n")
    head = 7
    out = []
    for number, line in enumerate(lines):
        if not line:
            out.append(line)
            continue
        cells = line.split(",")
        if number == 0:
            table_id = cells[head][:7]
            codes = [f"{table_id}{i:03d}" for i in range(1, len(cells) - head + 2)]
            cells = cells[:head] + codes
        elif number == 1:
            cells = cells[:head] + [label] + cells[head:]
        else:
            cells = cells[:head] + [cells[head]] + cells[head:]
        out.append(",".join(cells))
    target.write_bytes("\r\n".join(out).encode("cp932"))
    return target


def with_prj(source_shp: Path, folder: Path, epsg: int) -> Path:
    """A copy of a shapefile whose .prj declares ``epsg`` while the coordinates stay as they were."""
    from pyproj import CRS

    folder.mkdir(parents=True, exist_ok=True)
    for part in source_shp.parent.glob(source_shp.stem + ".*"):
        (folder / part.name).write_bytes(part.read_bytes())
    (folder / source_shp.with_suffix(".prj").name).write_text(CRS.from_epsg(epsg).to_wkt("WKT1_ESRI"))
    return folder / source_shp.name


def cut_in_half(source_shp: Path, folder: Path) -> Path:
    """A copy of a shapefile whose .shp stops half-way (an interrupted download); .shx/.dbf whole."""
    folder.mkdir(parents=True, exist_ok=True)
    for part in source_shp.parent.glob(source_shp.stem + ".*"):
        data = part.read_bytes()
        (folder / part.name).write_bytes(data[: len(data) // 2] if part.suffix == ".shp" else data)
    return folder / source_shp.name


def transformed_geojson(source: Path, target: Path, transform, declare_epsg: int | None = None) -> Path:
    """A copy of a GeoJSON whose coordinates go through ``transform(x, y) -> (x, y)`` and whose crs
    member declares ``declare_epsg`` (unchanged when None)."""
    import json

    doc = json.loads(source.read_text(encoding="utf-8"))

    def walk(coords):
        if coords and isinstance(coords[0], (int, float)):
            return list(transform(coords[0], coords[1]))
        return [walk(c) for c in coords]

    for feature in doc["features"]:
        if feature.get("geometry"):
            feature["geometry"]["coordinates"] = walk(feature["geometry"]["coordinates"])
    if declare_epsg:
        doc["crs"] = {"type": "name", "properties": {"name": f"urn:ogc:def:crs:EPSG::{declare_epsg}"}}
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return target
