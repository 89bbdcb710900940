"""The Japanese font used in printed karte. It comes from Debian (fonts-ipaexfont-gothic), installed
by scripts/system-deps.sh, and is embedded in every PDF."""
from __future__ import annotations

from functools import cache
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

FONT_FAMILY = "IPAexGothic"
FONT_CANDIDATES = (
    Path("/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf"),
    Path("/usr/share/fonts/truetype/fonts-japanese-gothic.ttf"),
)


@cache
def japanese_font_path() -> Path:
    for path in FONT_CANDIDATES:
        if path.exists():
            return path
    raise ImproperlyConfigured(
        "No Japanese font found for printing: install Debian's fonts-ipaexfont-gothic "
        "(scripts/system-deps.sh does it)."
    )


@cache
def matplotlib_japanese() -> str:
    """Registers the Japanese font with matplotlib and returns its family name."""
    from matplotlib import font_manager

    font_manager.fontManager.addfont(str(japanese_font_path()))
    return font_manager.FontProperties(fname=str(japanese_font_path())).get_name()
