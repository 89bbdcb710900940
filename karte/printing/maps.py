"""Static district maps for print, drawn with matplotlib in the city's projected CRS (metres).

Colour never carries meaning alone: every resource kind has its own marker shape and candidate
sites are numbered, so a black-and-white print stays legible. Under the districts lies a basemap
a resident can find their street on (地理院タイル 淡色地図 by default, credited on the map; see
``basemap``); offline, or with ``KARTE_PRINT_TILES=none``, the map is drawn as before without it.
"""
from __future__ import annotations

import io

import geopandas as gpd
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib import patheffects  # noqa: E402
from matplotlib.patches import PathPatch  # noqa: E402
from matplotlib.path import Path  # noqa: E402
from shapely import wkb  # noqa: E402

from karte.models import District, Resource, ResourceKind  # noqa: E402

from .basemap import Basemap, basemap_for  # noqa: E402
from .fonts import matplotlib_japanese  # noqa: E402

# (marker, colour) per kind; shapes differ so the legend still reads in black and white.
KIND_STYLE: dict[str, tuple[str, str]] = {
    ResourceKind.CIVIC_HALL: ("s", "#1b9e77"),
    ResourceKind.LIBRARY: ("D", "#1b9e77"),
    ResourceKind.SCHOOL: ("^", "#7570b3"),
    ResourceKind.NURSERY: ("v", "#7570b3"),
    ResourceKind.CHILDREN_CULTURE_CENTRE: ("p", "#e7298a"),
    ResourceKind.ELDERLY_WELFARE_CENTRE: ("h", "#d95f02"),
    ResourceKind.IKOI_NO_IE: ("H", "#d95f02"),
    ResourceKind.CHILDCARE_SUPPORT_CENTRE: ("<", "#e7298a"),
    ResourceKind.WELFARE_FACILITY: (">", "#d95f02"),
    ResourceKind.PUBLIC_FACILITY: ("P", "#666666"),
    ResourceKind.PARK: ("o", "#66a61e"),
    ResourceKind.COMMUNITY_HALL: ("X", "#a6761d"),
    ResourceKind.VACANT_HOUSE: ("x", "#000000"),
    ResourceKind.VACANT_SHOP: ("+", "#000000"),
    ResourceKind.CAFE: ("d", "#a6761d"),
    ResourceKind.PUBLIC_OPEN_SPACE: ("8", "#66a61e"),
    ResourceKind.SHRINE_TEMPLE: ("1", "#444444"),
    ResourceKind.FARMLAND: ("2", "#66a61e"),
    ResourceKind.GREEN_SPACE: ("3", "#66a61e"),
    ResourceKind.ROOM: ("4", "#1b9e77"),
    ResourceKind.OPEN_SPACE: ("*", "#66a61e"),
    ResourceKind.SHOP: ("|", "#d95f02"),
    ResourceKind.GROUP_CIRCLE: ("_", "#e7298a"),
    ResourceKind.OTHER: (".", "#444444"),
}


UNFILLED_MARKERS = {"x", "+", "1", "2", "3", "4", ".", "|", "_"}


def _frame(geoms, srid: int, **columns) -> gpd.GeoDataFrame:
    shapes = [wkb.loads(bytes(g.wkb)) for g in geoms]
    return gpd.GeoDataFrame(columns, geometry=shapes, crs=f"EPSG:{srid}")


def _polygon_patch(geometry, **style) -> PathPatch:
    """One patch for a (multi)polygon, holes included. Drawn with matplotlib directly: geopandas'
    plot() redraws the whole figure on every call, which made a karte page several times slower."""
    paths = []
    for polygon in getattr(geometry, "geoms", [geometry]):
        for ring in (polygon.exterior, *polygon.interiors):
            paths.append(Path(np.asarray(ring.coords)[:, :2], closed=True))
    return PathPatch(Path.make_compound_path(*paths), **style)


# Share of the figure's width the map itself takes (the legend sits to its right).
MAP_WIDTH_SHARE = 0.75
# Without a basemap the districts are filled; over one they are outlined, so that streets and
# names show through, the karte's district keeping a light tint and the names a white halo.
PLAIN_STYLE = {
    "neighbour": {"facecolor": "#f2f2f2", "edgecolor": "#9a9a9a"},
    "neighbour_name": {"color": "#777777"},
    "district": {"facecolor": "#fff7e6"},
}
OVER_BASEMAP_STYLE = {
    "neighbour": {"facecolor": "none", "edgecolor": "#555555"},
    "neighbour_name": {"color": "#444444", "path_effects": [patheffects.withStroke(linewidth=2, foreground="white")]},
    "district": {"facecolor": (1.0, 0.6, 0.0, 0.12)},
}


def district_map_png(*args, dpi: int = 170, **kwargs) -> bytes:
    """A PNG map of one district: :func:`district_map_figure` with the same arguments, saved."""
    fig = district_map_figure(*args, dpi=dpi, **kwargs)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, pil_kwargs={"compress_level": 2})  # fast; PDF is compressed anyway
    plt.close(fig)
    return buffer.getvalue()


def district_map_figure(
    district: District,
    resources: list[Resource],
    candidate_resources: list[Resource],
    *,
    size_mm: tuple[float, float] = (180, 105),
    dpi: int = 170,
):
    """A matplotlib figure of one district: the basemap (when there is one), its boundary,
    neighbouring districts, resources by kind (marker shape per kind) and numbered candidate ひろば
    sites. Drawn in the city's projected CRS. The caller closes the figure."""
    return area_map_figure(district.geom, district.city, resources, candidate_resources, size_mm=size_mm, dpi=dpi,
                           name=district.name_ja, exclude=district)


def area_map_png(*args, dpi: int = 170, **kwargs) -> bytes:
    """A PNG map of any area (an area karte): :func:`area_map_figure` with the same arguments, saved."""
    fig = area_map_figure(*args, dpi=dpi, **kwargs)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, pil_kwargs={"compress_level": 2})
    plt.close(fig)
    return buffer.getvalue()


def area_map_figure(
    geom,
    city,
    resources: list[Resource],
    candidate_resources: list[Resource],
    *,
    size_mm: tuple[float, float] = (180, 105),
    dpi: int = 170,
    name: str = "",
    exclude: District | None = None,
):
    """The map of :func:`district_map_figure` for any area: ``geom`` a GEOS (multi)polygon in
    EPSG:6668 drawn as the outlined area over the districts around it (``exclude``: the district
    that is the area itself). The caller closes the figure."""
    family = matplotlib_japanese()
    srid = city.projected_srid
    projected = f"EPSG:{srid}"
    target = _frame([geom], 6668, name=[name]).to_crs(projected)
    minx, miny, maxx, maxy = target.total_bounds
    pad = max(maxx - minx, maxy - miny) * 0.06

    neighbours = District.objects.filter(city=city, geom__intersects=geom.buffer(0.01))
    if exclude is not None:
        neighbours = neighbours.exclude(pk=exclude.pk)
    basemap = basemap_for((minx - pad, miny - pad, maxx + pad, maxy + pad), srid, size_mm[0] * MAP_WIDTH_SHARE)
    fig, ax = plt.subplots(figsize=(size_mm[0] / 25.4, size_mm[1] / 25.4), dpi=dpi)
    style = PLAIN_STYLE if basemap is None else OVER_BASEMAP_STYLE
    with plt.rc_context({"font.family": family}):
        if basemap is not None:
            _draw_basemap(ax, basemap, family)
        if neighbours:
            others = _frame([d.geom for d in neighbours], 6668, name=[d.name_ja for d in neighbours]).to_crs(projected)
            for shape in others.geometry:
                ax.add_patch(_polygon_patch(shape, linewidth=0.5, **style["neighbour"]))
            for _, row in others.iterrows():
                point = row.geometry.representative_point()
                if minx - pad <= point.x <= maxx + pad and miny - pad <= point.y <= maxy + pad:
                    ax.annotate(row["name"], (point.x, point.y), fontsize=5, ha="center", family=family,
                                **style["neighbour_name"])
        ax.add_patch(_polygon_patch(target.geometry.iloc[0], edgecolor="black", linewidth=1.4, zorder=2,
                                    **style["district"]))
        shown_kinds = []
        if resources:
            frame = _frame([r.location for r in resources], 6668, kind=[r.kind for r in resources]).to_crs(projected)
            for kind, group in frame.groupby("kind"):
                marker, colour = KIND_STYLE.get(kind, (".", "#444444"))
                label = ResourceKind(kind).label
                # Line markers (x, +, 1…) have no face to outline; filled ones get a black edge for B/W print.
                edge = {"edgecolor": "black", "linewidth": 0.3} if marker not in UNFILLED_MARKERS else {}
                ax.scatter(group.geometry.x, group.geometry.y, marker=marker, color=colour, s=18, label=str(label),
                           zorder=3, **edge)
                shown_kinds.append(kind)
        if candidate_resources:
            cands = _frame([r.location for r in candidate_resources], 6668).to_crs(projected)
            ax.scatter(cands.geometry.x, cands.geometry.y, marker="*", color="white", edgecolor="black", s=120,
                       zorder=4, label="候補地 (番号は候補リスト)")
            for number, point in enumerate(cands.geometry, start=1):
                ax.annotate(str(number), (point.x, point.y), xytext=(4, 4), textcoords="offset points",
                            fontsize=7.5, zorder=5, family=family)
        ax.set_xlim(minx - pad, maxx + pad)
        ax.set_ylim(miny - pad, maxy + pad)
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_xlabel("")
        ax.set_ylabel("")
        _scale_bar(ax, minx - pad, miny - pad, maxx - minx, family)
        if shown_kinds or candidate_resources:
            ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=6, frameon=False, prop={"family": family,
                                                                                              "size": 6})
        fig.tight_layout(pad=0.3)
    return fig


def _draw_basemap(ax, basemap: Basemap, family: str) -> None:
    minx, maxx, miny, maxy = basemap.extent
    ax.imshow(basemap.image, extent=(minx, maxx, miny, maxy), origin="upper", zorder=0, interpolation="antialiased")
    ax.text(0.995, 0.008, basemap.attribution, transform=ax.transAxes, ha="right", va="bottom", fontsize=5,
            family=family, zorder=6, bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": "none", "pad": 1.0})


def _scale_bar(ax, x0: float, y0: float, width_m: float, family: str) -> None:
    # A round length near a fifth of the map width.
    length = next((n for n in (2000, 1000, 500, 250, 100) if n <= width_m / 4), 100)
    x, y = x0 + width_m * 0.04, y0 + width_m * 0.03
    ax.plot([x, x + length], [y, y], color="black", linewidth=2)
    ax.annotate(f"{length} m" if length < 1000 else f"{length // 1000} km", (x + length / 2, y),
                xytext=(0, 3), textcoords="offset points", ha="center", fontsize=6, family=family)
