/* The city map: a choropleth of one indicator per district, with optional layers.
 *
 * Layers are fetched as GeoJSON from the app (urls in the page's JSON config) rather than inlined:
 * the district polygons with all indicator values and the resource points are the large part of
 * the page, and fetching them keeps the HTML small and lets them load in parallel.
 */
(function () {
  "use strict";
  const C = KarteCommon, K = KarteClassify;
  const config = C.readConfig("karte-map-config");
  const S = config.strings || {};
  const fmt1 = C.numberFormatter(config.language, 1);
  const fmt0 = C.numberFormatter(config.language, 0);
  const CANDIDATE_CIRCLES = 15;  // of which this many with their walking circle
  const status = document.getElementById("map-status");
  const controls = {
    indicator: document.getElementById("indicator-select"),
    scheme: document.getElementById("scheme-select"),
    classes: document.getElementById("classes-select"),
    ward: document.getElementById("ward-select"),
    wards: document.getElementById("layer-wards"),
    candidates: document.getElementById("layer-candidates"),
    siting: document.getElementById("layer-siting"),
  };

  const map = L.map("map", { zoomControl: true, maxZoom: 18, zoomSnap: 0.5 }).setView([35.57, 139.6], 11);
  (window.KarteMaps = window.KarteMaps || []).push(map);  // the place search (search.js) zooms it
  C.addBasemap(map, config.tiles);
  window.KarteMapView = { map: map, config: config };  // for area_select.js (small areas, area tools)
  map.createPane("wardsPane").style.zIndex = 420;
  map.getPane("wardsPane").style.pointerEvents = "none";

  let districtData = null;   // FeatureCollection with every indicator
  let districtLayer = null;
  let breaks = [];
  let palette = [];
  const overlays = {};       // name -> layer, created on first use
  const legend = L.control({ position: "bottomright" });
  legend.onAdd = () => {
    const div = L.DomUtil.create("div", "legend");
    div.id = "legend";
    return div;
  };
  legend.addTo(map);

  function setStatus(text, isError) {
    status.textContent = text || "";
    status.classList.toggle("error", !!isError);
  }

  async function getJson(url) {
    const response = await fetch(url, { headers: { Accept: "application/json" } });
    if (!response.ok) throw new Error(url + ": HTTP " + response.status);
    return response.json();
  }

  // Every page of a paginated API collection (resources), features joined in order.
  async function getAllPages(url) {
    const first = await getJson(url);
    let next = first["karte:metadata"].page && first["karte:metadata"].page.next;
    while (next) {
      const page = await getJson(next);
      first.features.push(...page.features);
      next = page["karte:metadata"].page.next;
    }
    return first;
  }

  function meta(code) {
    const all = (districtData && districtData["karte:metadata"] && districtData["karte:metadata"].indicators) || {};
    return all[code] || {};
  }

  function currentIndicator() { return controls.indicator.value; }

  function indicatorEntry(code) {
    return (config.indicators || []).find((e) => e.code === code) || { code: code, label: code, unit: "" };
  }

  function recomputeBreaks() {
    const code = currentIndicator();
    const values = districtData.features.map((f) => f.properties[code]);
    const k = parseInt(controls.classes.value, 10);
    breaks = K.breaksFor(controls.scheme.value, values, k);
    palette = K.paletteOf(indicatorEntry(code), breaks);
  }

  function fillFor(value) {
    const index = K.classOf(value, breaks);
    return index < 0 ? K.NO_DATA : palette[Math.min(index, palette.length - 1)];
  }

  function styleFor(feature) {
    return {
      color: "#444", weight: 1, opacity: 0.9, fillOpacity: 0.75,
      fillColor: fillFor(feature.properties[currentIndicator()]),
      className: "karte-district",
    };
  }

  function popupFor(feature) {
    const p = feature.properties, code = currentIndicator(), entry = indicatorEntry(code), m = meta(code);
    const wardValue = (m.ward_values || {})[p.ward_code];
    const cityValues = m.city_values || {};
    const cityValue = cityValues[p.city_code] !== undefined ? cityValues[p.city_code] : Object.values(cityValues)[0];
    const rank = p[code + "__rank"];
    // Ranks are among the districts of the district's own city (several cities may be loaded).
    const total = districtData.features.filter((f) => f.properties.city_code === p.city_code).length;
    const link = config.urls.district_page.replace("__code__", encodeURIComponent(p.code));
    return '<div class="popup"><strong class="popup-name">' + C.escapeHtml(C.districtName(p)) + "</strong> <small>"
      + C.escapeHtml(C.wardName(p)) + "</small>"
      + '<div class="popup-indicator">' + C.escapeHtml(entry.label) + "</div>"
      + "<table>"
      + "<tr><th>" + C.escapeHtml(S.district) + "</th><td>" + C.withUnit(fmt1(p[code]), entry.unit) + "</td></tr>"
      + (p.ward_code ? "<tr><th>" + C.escapeHtml(C.wardName(p)) + "</th><td>" + C.withUnit(fmt1(wardValue), entry.unit) + "</td></tr>" : "")
      + "<tr><th>" + C.escapeHtml(S.city) + "</th><td>" + C.withUnit(fmt1(cityValue), entry.unit) + "</td></tr>"
      + "<tr><th>" + C.escapeHtml(S.rank) + "</th><td>" + (rank ? fmt0(rank) + " / " + fmt0(total) : "—") + "</td></tr>"
      + "</table>"
      + '<a class="popup-link" href="' + link + '">' + C.escapeHtml(S.open_karte) + " →</a></div>";
  }

  function renderLegend() {
    const div = document.getElementById("legend");
    const entry = indicatorEntry(currentIndicator());
    let html = "<strong>" + C.escapeHtml(entry.label) + "</strong>" + (entry.unit ? " <span class=\"unit\">（" + C.escapeHtml(entry.unit) + "）</span>" : "");
    html += "<ul>";
    for (let i = 0; i < breaks.length - 1; i++) {
      html += '<li><span class="swatch" data-colour="' + palette[Math.min(i, palette.length - 1)] + '"></span>'
        + fmt1(breaks[i]) + " – " + fmt1(breaks[i + 1]) + "</li>";
    }
    html += '<li><span class="swatch" data-colour="' + K.NO_DATA + '"></span>' + C.escapeHtml(S.no_data) + "</li></ul>";
    html += '<div class="legend-note">' + C.escapeHtml(S.legend_note) + "</div>";
    if (entry.diverging) html += '<div class="legend-note legend-diverging">' + C.escapeHtml(S.diverging_note) + "</div>";
    div.innerHTML = html;
    C.paintColours(div);
  }

  function drawDistricts(fit) {
    if (districtLayer) districtLayer.remove();
    const ward = controls.ward.value;
    districtLayer = L.geoJSON(districtData, {
      filter: (f) => !ward || f.properties.ward_code === ward,
      style: styleFor,
      onEachFeature: (feature, layer) => {
        layer.bindPopup(() => popupFor(feature), { maxWidth: 280, autoPanPadding: [20, 20] });
        // The open district is outlined (the browser's focus ring on an SVG path is not).
        layer.on("popupopen", () => { layer.setStyle({ weight: 4, color: "#000" }); layer.bringToFront(); });
        layer.on("popupclose", () => layer.setStyle(styleFor(feature)));
        layer.bindTooltip(C.escapeHtml(C.districtName(feature.properties)), { sticky: true });
        layer.on("add", () => {
          if (layer._path) {
            layer._path.setAttribute("data-code", feature.properties.code);
            layer._path.setAttribute("aria-label", feature.properties.name_ja);
          }
        });
      },
    }).addTo(map);
    // Keep the legend (bottom right) from covering districts.
    if (fit && districtLayer.getLayers().length) {
      map.fitBounds(districtLayer.getBounds(), { paddingTopLeft: [10, 10], paddingBottomRight: [190, 10] });
    }
    document.querySelectorAll(".district-list li").forEach((li) => {
      li.hidden = !!ward && li.dataset.ward !== ward;
    });
  }

  function restyle() {
    recomputeBreaks();
    districtLayer.setStyle(styleFor);
    renderLegend();
    const url = new URL(window.location.href);
    url.searchParams.set("indicator", currentIndicator());
    window.history.replaceState(null, "", url);
  }

  async function loadDistricts() {
    setStatus(S.loading);
    // All of Japan is too much GeoJSON: above the TileJSON's threshold the districts come as vector tiles.
    const tiled = await KarteTiles.districtLayer(map, config, styleFor, (b, p) => { breaks = b; palette = p; renderLegend(); });
    if (tiled) { districtLayer = tiled; document.getElementById("map").dataset.ready = "1"; return; }
    districtData = await getJson(config.layer_urls.districts);
    recomputeBreaks();
    drawDistricts(true);
    renderLegend();
    setStatus(S.districts_shown + ": " + fmt0(districtLayer.getLayers().length));
    document.getElementById("map").dataset.ready = "1";
  }

  async function toggleWards() {
    if (!controls.wards.checked) { if (overlays.wards) overlays.wards.remove(); return; }
    if (!overlays.wards) {
      const data = await getJson(config.layer_urls.wards);
      overlays.wards = L.geoJSON(data, {
        pane: "wardsPane", interactive: false,
        style: { color: "#222", weight: 2.5, fill: false, dashArray: "6 3", className: "karte-ward" },
      });
    }
    overlays.wards.addTo(map);
  }

  async function toggleKind(checkbox) {
    const kind = (config.kinds || []).find((k) => k.code === checkbox.value);
    const key = "kind:" + kind.code;
    if (!checkbox.checked) { if (overlays[key]) overlays[key].remove(); return; }
    if (!overlays[key]) {
      const data = await getAllPages(config.layer_urls.resources[kind.code]);
      const cluster = L.markerClusterGroup({ maxClusterRadius: 40, showCoverageOnHover: false });
      L.geoJSON(data, {
        pointToLayer: (f, latlng) => L.marker(latlng, { icon: C.kindIcon(kind, "resource-marker"), title: f.properties.name || kind.label, keyboard: true }),
        onEachFeature: (f, layer) => layer.bindPopup(C.resourcePopup(f.properties, S, config.kinds)),
      }).eachLayer((layer) => cluster.addLayer(layer));
      overlays[key] = cluster;
    }
    overlays[key].addTo(map);
  }

  async function toggleCandidates() {
    if (!controls.candidates.checked) { if (overlays.candidates) overlays.candidates.remove(); return; }
    if (!overlays.candidates) {
      const data = await getJson(config.layer_urls.candidates);
      const group = L.layerGroup();
      data.features.forEach((f) => {
        const p = f.properties, latlng = [p.lat, p.lon];
        // Walking circles only for the best few: hundreds of overlapping rings hide the map.
        if (p.rank <= CANDIDATE_CIRCLES) {
          L.circle(latlng, { radius: p.walk_distance_m, color: "#6a51a3", weight: 1, fillOpacity: 0.06, interactive: false }).addTo(group);
        }
        L.circleMarker(latlng, { radius: 7, color: "#fff", weight: 2, fillColor: "#6a51a3", fillOpacity: 1, className: "karte-candidate" })
          .bindPopup("<strong>" + C.escapeHtml(S.candidate) + " " + fmt0(p.rank) + ": " + C.escapeHtml(p.name || "—") + "</strong><br>"
            + C.escapeHtml(C.kindLabel(p, config.kinds)) + "<br>" + C.escapeHtml(S.score) + ": " + fmt1(p.score)
            + "<br>" + C.escapeHtml(S.walk_circle) + ": " + fmt0(p.walk_distance_m) + "\u2009m"
            + C.areaAroundLink(config.urls.area_page, p, S))
          .addTo(group);
      });
      overlays.candidates = group;
    }
    overlays.candidates.addTo(map);
  }

  async function toggleSiting() {
    if (!controls.siting.checked) { if (overlays.siting) overlays.siting.remove(); return; }
    if (!overlays.siting) {
      const data = await getJson(config.layer_urls.siting);
      const run = data["karte:metadata"].siting_run;
      const group = L.layerGroup();
      data.features.forEach((f) => {
        const p = f.properties;
        if (p.lat === null) return;
        L.circle([p.lat, p.lon], { radius: run.walk_distance_m, color: "#b30000", weight: 1.5, fillOpacity: 0.08, interactive: false }).addTo(group);
        L.marker([p.lat, p.lon], { icon: L.divIcon({ className: "site-icon", html: "<span>" + fmt0(p.order) + "</span>", iconSize: [24, 24] }), title: p.name || "" })
          .bindPopup("<strong>" + C.escapeHtml(S.chosen_site) + " " + fmt0(p.order) + ": " + C.escapeHtml(p.name || "—") + "</strong><br>"
            + C.escapeHtml(S.newly_covered) + ": " + fmt0(p.newly_covered) + C.escapeHtml(S.persons))
          .addTo(group);
      });
      overlays.siting = group;
    }
    overlays.siting.addTo(map);
  }

  function guarded(fn) {
    return (...args) => fn(...args).catch((error) => { setStatus(S.load_failed + " (" + ((error && error.message) || String(error)) + ")", true); if (window.console) console.error(error); });
  }

  document.getElementById("map-controls").addEventListener("submit", (event) => event.preventDefault());
  // Choosing another city reloads the page for it (its layers, wards and districts list).
  const citySelect = document.getElementById("city-select");
  if (citySelect) {
    citySelect.addEventListener("change", () => {
      citySelect.form.elements.indicator.value = controls.indicator.value;
      citySelect.form.submit();
    });
  }
  controls.indicator.addEventListener("change", () => districtData && restyle());
  controls.scheme.addEventListener("change", () => districtData && restyle());
  controls.classes.addEventListener("change", () => districtData && restyle());
  controls.ward.addEventListener("change", () => districtData && drawDistricts(true));
  controls.wards.addEventListener("change", guarded(toggleWards));
  controls.candidates.addEventListener("change", guarded(toggleCandidates));
  controls.siting.addEventListener("change", guarded(toggleSiting));
  document.querySelectorAll(".kind-toggle").forEach((box) => box.addEventListener("change", guarded(() => toggleKind(box))));

  guarded(loadDistricts)().then(() => guarded(toggleWards)());
})();
