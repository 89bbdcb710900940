/* Districts as vector tiles, for maps holding more districts than GeoJSON can carry (all of Japan:
 * ~19,000 小学校区, ~80 MiB of GeoJSON). Needs Leaflet.VectorGrid (vendor/leaflet.vectorgrid-1.3.0),
 * KarteClassify and KarteCommon.
 *
 *   KarteTiles.districtLayer(map, config, styleFor, onClasses) -> Promise<layer | null>
 *
 * reads the layer's TileJSON (config.urls.district_tiles). When the districts are no more than its
 * "karte:map_tiles_above" it resolves to null and the map draws GeoJSON as before. Otherwise it adds
 * a tile layer to the map and takes over the choropleth: class breaks come from the API
 * (/api/indicators/?indicator=&scheme=&k=, classified over every district, not only those in
 * view) and are handed to onClasses(breaks, palette) before the tiles are (re)drawn with
 * styleFor({properties}) — the map's own style function, so both modes look alike. It follows the
 * page's indicator, scheme, class-count and ward selects, and opens a popup on a click.
 *
 * Tile properties: code, name, city, ward, and one value per indicator (see karte/layers/tiles.py).
 */
(function (global) {
  "use strict";
  const L = global.L;

  // Leaflet.VectorGrid 1.3.0 calls L.DomEvent.fakeStop on every click, which Leaflet 1.8 removed
  // (fixed upstream after the last release): put back Leaflet 1.7's definition.
  if (L && L.DomEvent && !L.DomEvent.fakeStop) {
    L.DomEvent.fakeStop = function (e) { e._stopped = true; };
  }

  const LAYER = "districts";
  const ZOOM_IN = { ja: "地区を表示するには地図を拡大してください", en: "Zoom in to see the districts" };

  async function getJson(url) {
    const response = await fetch(url, { headers: { Accept: "application/json" } });
    if (!response.ok) throw new Error(url + ": HTTP " + response.status);
    return response.json();
  }

  function selected(id) {
    const element = document.getElementById(id);
    return element ? element.value : "";
  }

  async function districtLayer(map, config, styleFor, onClasses) {
    const url = (config.urls || {}).district_tiles;
    if (!url || !L.vectorGrid) return null;
    const tilejson = await getJson(url);
    if (tilejson["karte:feature_count"] <= tilejson["karte:map_tiles_above"]) return null;

    const C = global.KarteCommon, K = global.KarteClassify, S = config.strings || {};
    const english = (document.documentElement.lang || "").startsWith("en");
    const fmt1 = C.numberFormatter(config.language, 1);
    const status = document.getElementById("map-status");
    let classes = { ward_values: {}, city_values: {} };
    let highlighted = null;

    function entry(code) {
      return (config.indicators || []).find((e) => e.code === code) || { code: code, label: code, unit: "" };
    }

    function style(properties) {
      const ward = selected("ward-select");
      if (ward && properties.ward !== ward) return [];  // hidden: another ward
      return Object.assign({ fill: true }, styleFor({ properties: properties }));
    }

    const layer = L.vectorGrid.protobuf(tilejson.tiles[0], {
      vectorTileLayerStyles: { [LAYER]: style },
      rendererFactory: L.canvas.tile,
      interactive: true,
      getFeatureId: (feature) => feature.properties.code,
      minZoom: tilejson.minzoom,
      maxNativeZoom: tilejson.maxzoom,
      attribution: "",
    });

    function wardName(code) {
      const option = document.querySelector('#ward-select option[value="' + CSS.escape(code || "") + '"]');
      return code && option ? option.textContent : "";
    }

    function popupHtml(properties) {
      const code = selected("indicator-select"), e = entry(code);
      const link = config.urls.district_page.replace("__code__", encodeURIComponent(properties.code));
      const cityValues = classes.city_values || {};
      const row = (label, value) => "<tr><th>" + C.escapeHtml(label) + "</th><td>" + C.withUnit(fmt1(value), e.unit) + "</td></tr>";
      return '<div class="popup"><strong class="popup-name">' + C.escapeHtml(properties.name) + "</strong> <small>"
        + C.escapeHtml(wardName(properties.ward)) + "</small>"
        + '<div class="popup-indicator">' + C.escapeHtml(e.label) + "</div><table>"
        + row(S.district || "", properties[code])
        + (properties.ward ? row(wardName(properties.ward) || S.ward || "", (classes.ward_values || {})[properties.ward]) : "")
        + row(S.city || "", cityValues[properties.city])
        + "</table>" + '<a class="popup-link" href="' + link + '">' + C.escapeHtml(S.open_karte || "") + " →</a></div>";
    }

    layer.on("click", (event) => {
      const properties = event.layer.properties;
      if (highlighted) layer.resetFeatureStyle(highlighted);
      highlighted = properties.code;
      layer.setFeatureStyle(highlighted, Object.assign(style(properties), { weight: 4, color: "#000" }));
      L.popup({ maxWidth: 280, autoPanPadding: [20, 20] }).setLatLng(event.latlng).setContent(popupHtml(properties)).openOn(map);
    });
    map.on("popupclose", () => { if (highlighted) layer.resetFeatureStyle(highlighted); highlighted = null; });

    function showStatus() {
      const hidden = map.getZoom() < tilejson.minzoom;
      status.textContent = hidden ? (S.zoom_in_for_districts || ZOOM_IN[english ? "en" : "ja"])
        : (S.districts_shown || "") + ": " + C.numberFormatter(config.language, 0)(tilejson["karte:feature_count"]);
    }

    async function classify() {
      const code = selected("indicator-select");
      const query = "?indicator=" + encodeURIComponent(code) + "&scheme=" + encodeURIComponent(selected("scheme-select"))
        + "&k=" + encodeURIComponent(selected("classes-select"));
      let breaks = [];
      try {
        classes = await getJson(tilejson["karte:class_breaks_url"] + query);
        breaks = classes.breaks || [];
      } catch (error) {  // no value of this indicator: every district shows "no data"
        classes = { ward_values: {}, city_values: {} };
      }
      onClasses(breaks, K.paletteOf(entry(code), breaks));
      const address = new URL(window.location.href);
      address.searchParams.set("indicator", code);
      window.history.replaceState(null, "", address);
    }

    async function redraw() {
      await classify();
      layer.redraw();
    }

    function filterWard() {
      const ward = selected("ward-select");
      document.querySelectorAll(".district-list li").forEach((li) => { li.hidden = !!ward && li.dataset.ward !== ward; });
      layer.redraw();
    }

    ["indicator-select", "scheme-select", "classes-select"].forEach((id) => {
      const element = document.getElementById(id);
      if (element) element.addEventListener("change", () => redraw().catch((error) => console.error(error)));
    });
    const wardSelect = document.getElementById("ward-select");
    if (wardSelect) wardSelect.addEventListener("change", filterWard);
    filterWard();

    await classify();
    const [west, south, east, north] = tilejson.bounds;
    map.fitBounds([[south, west], [north, east]], { paddingBottomRight: [190, 10] });
    if (map.getZoom() < tilejson.minzoom) map.setZoom(tilejson.minzoom);
    layer.addTo(map);
    map.on("zoomend", showStatus);
    showStatus();
    return layer;
  }

  global.KarteTiles = { districtLayer };
})(window);
