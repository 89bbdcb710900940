"""Karte's spatial core: pure Python (geopandas / shapely / numpy / scipy), no Django.

Functions take GeoDataFrames (or DataFrames indexed by area code) and return GeoDataFrames,
DataFrames or arrays. Metric work (areas, distances) happens in a projected CRS in metres — for
Kawasaki EPSG:6677 (JGD2011 plane rectangular zone IX); each docstring states units and CRS.

Modules: ``interpolation`` (small areas → school districts), ``indicators`` (the indicator
registry and the ratio maths), ``projection`` (Hamilton–Perry cohort-change-ratio projection),
``isolation`` (composite isolation index), ``compare`` (three tiers, ranks, class breaks),
``resources`` (resource, park, vacant-house and hazard indicators per district).
"""
