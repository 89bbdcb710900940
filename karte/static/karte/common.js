/* Shared by the map pages: the basemap, number formatting and resource markers. */
(function (global) {
  "use strict";

  function readConfig(id) {
    const node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : {};
  }

  function numberFormatter(language, digits) {
    const nf = new Intl.NumberFormat(language === "en" ? "en-GB" : "ja-JP", {
      maximumFractionDigits: digits, minimumFractionDigits: digits,
    });
    return (value) => (value === null || value === undefined || !Number.isFinite(value) ? "—" : nf.format(value));
  }

  function withUnit(text, unit) {
    if (text === "—" || !unit) return text;
    return ["%", "人", "件"].includes(unit) ? text + unit : text + "\u2009" + unit;
  }

  function escapeHtml(text) {
    return String(text === null || text === undefined ? "" : text).replace(/[&<>"']/g, (c) => (
      { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
  }

  // The basemap is optional: with KARTE_TILES=none, or offline, the data layers still draw on
  // the plain background and nothing waits for tiles.
  function addBasemap(map, tiles) {
    if (!tiles) {
      map.getContainer().classList.add("no-basemap");
      return null;
    }
    return L.tileLayer(tiles.url, { attribution: tiles.attribution, maxZoom: tiles.max_zoom || 18 }).addTo(map);
  }

  // Colours are set through the DOM (element.style), never as style attributes in markup: the Content-Security-
  // Policy refuses inline style attributes. Elements carry data-colour; paintColours applies it.
  function paintColours(root) {
    (root || document).querySelectorAll("[data-colour]").forEach((el) => { el.style.background = el.dataset.colour; });
  }

  // A kind's glyph on its colour; each marker gets its own element (see paintColours).
  const KindIcon = L.DivIcon.extend({
    createIcon(oldIcon) {
      const div = L.DivIcon.prototype.createIcon.call(this, oldIcon);
      const glyph = document.createElement("span");
      glyph.style.background = this.options.colour;
      glyph.textContent = this.options.glyph;
      div.replaceChildren(glyph);
      return div;
    },
  });

  function kindIcon(kind, extraClass) {
    return new KindIcon({
      className: "kind-icon " + (extraClass || ""), html: false, colour: kind.colour, glyph: kind.glyph,
      iconSize: [22, 22], iconAnchor: [11, 11], popupAnchor: [0, -10],
    });
  }

  // The page's own (translated) label of a resource kind; the data carries the Japanese one.
  function kindLabel(props, kinds) {
    const entry = (kinds || []).find((k) => k.code === props.kind);
    return (entry && entry.label) || props.kind_label_ja || props.kind;
  }

  // District names: Japanese, with the romaji first on the English pages.
  function districtName(props) {
    const english = (document.documentElement.lang || "").startsWith("en");
    return english && props.name_romaji ? props.name_romaji + " (" + props.name_ja + ")" : props.name_ja;
  }

  function wardName(props) {
    const english = (document.documentElement.lang || "").startsWith("en");
    return (english && props.ward_name_en) || props.ward_name_ja || "";
  }

  function resourcePopup(props, strings, kinds) {
    return "<strong>" + escapeHtml(props.name || "—") + "</strong><br>" + escapeHtml(kindLabel(props, kinds))
      + (props.address ? "<br>" + escapeHtml(strings.address) + ": " + escapeHtml(props.address) : "");
  }

  // A link to the karte of the walking circle around a point (a candidate site): /area/?lon=&lat=&radius=.
  function areaAroundLink(areaPage, props, strings) {
    if (!areaPage || props.lon === null || props.lon === undefined) return "";
    const query = "?lon=" + encodeURIComponent(props.lon) + "&lat=" + encodeURIComponent(props.lat)
      + "&radius=" + encodeURIComponent(props.walk_distance_m || 500);
    return '<br><a class="popup-link area-around" href="' + escapeHtml(areaPage + query) + '">' + escapeHtml(strings.area_around || "") + " →</a>";
  }

  global.KarteCommon = {
    areaAroundLink, readConfig, numberFormatter, withUnit, escapeHtml, addBasemap, kindIcon, kindLabel, districtName, wardName, resourcePopup,
    paintColours,
  };
  paintColours(document);  // the page's own swatches (scripts load at the end of <body>)
})(window);
