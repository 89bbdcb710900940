"""Pure readers of Karte's source files (no Django): each turns one published file into a
validated, normalised (Geo)DataFrame in JGD2011 (EPSG:6668) plus a ``Report`` of what it repaired or
skipped, or raises a ``loaders.errors.LoaderError`` naming the file, row/feature and field.

| module | sources |
|---|---|
| ``census`` | e-Stat 国勢調査 小地域集計 CSV (CP932/UTF-8, two header rows), KEY_CODE correspondence |
| ``census_tables`` | the declarative column-code → variable mapping, one entry per table and vintage |
| ``boundaries`` | e-Stat 小地域 boundaries, 国土数値情報 N03 (wards, city), A27 school districts |
| ``resources`` | 国土数値情報 P02/P13/P14/P29, lat/lon CSV, OSM GeoJSON export, 空き家 lists |
| ``housing`` | 住宅・土地統計調査 area tables |
| ``raster`` | GeoTIFF metadata (population mesh, hazard) |
| ``mesh`` | e-Stat 地域メッシュ統計 CSV; mesh code → polygon with jismesh |
| ``hazard`` | 国土数値情報 A31a 浸水深ランク polygons → a depth GeoTIFF of one city |
| ``fetch`` | the open-data catalogue (``open_data.toml``), downloads with resume and checksums |

The Django side (``karte/importers``) persists the frames: ``python manage.py load <source> PATH``.
"""
