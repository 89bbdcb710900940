/* The city map's small-area layer and "karte for any area" tools (loaded after map.js).
 *
 * - Small-area layer: the census 町丁・字 from /api/small-areas/ (the map's box), coloured by the
 *   indicator, method and classes chosen for the districts (KarteClassify, the same palettes), with
 *   its own legend; a ratio resting on a suppressed cell is drawn hatched-grey and listed as
 *   "秘匿", not as zero.
 * - Area tools: pick small areas (click toggles one; dragging draws a lasso that takes every small
 *   area whose inner point lies inside), draw a polygon (click vertices; click the first one or
 *   press "完了" to close), or a walking circle (click the centre, set the radius). "Open" goes to
 *   /area/ with the area in the URL (the permalink): codes=, geometry= or lon=&lat=&radius=.
 */
(function () {
  "use strict";
  const C = KarteCommon, K = KarteClassify;
  const view = window.KarteMapView;
  if (!view) return;
  const map = view.map, config = view.config, S = config.strings || {};
  const urls = config.urls || {};
  const fmt1 = C.numberFormatter(config.language, 1);
  const el = (id) => document.getElementById(id);
  const controls = {
    layer: el("layer-small-areas"), open: el("area-open"), clear: el("area-clear"), finish: el("area-finish"),
    radius: el("area-radius"), status: el("area-status"), indicator: el("indicator-select"),
    scheme: el("scheme-select"), classes: el("classes-select"),
  };
  if (!controls.open) return;
  const SUPPRESSED = "#969696";
  const SELECTED = "#00429d";
  const DECIMALS = 6;

  let data = null, layer = null, loadedBox = null, breaks = [], palette = [];
  let mode = "";
  const selected = new Set();
  let polygon = [], sketch = null, circle = null, centre = null, lasso = null;
  let lassoed = false;  // the click that ends a lasso drag is not a click on a small area

  const legend = L.control({ position: "bottomleft" });
  legend.onAdd = () => { const div = L.DomUtil.create("div", "legend small-area-legend"); div.id = "small-area-legend"; return div; };

  function indicator() { return controls.indicator.value; }
  function entry(code) { return (config.indicators || []).find((e) => e.code === code) || { code: code, label: code, unit: "" }; }
  function offered(code) { return !!(data && data["karte:metadata"].indicators.indexOf(code) >= 0); }
  function suppressedFor(p, code) { return (p.suppressed || []).indexOf(code.replace(/_change$/, "")) >= 0; }

  function say(text, isError) {
    controls.status.textContent = text || "";
    controls.status.classList.toggle("error", !!isError);
  }

  function recompute() {
    const code = indicator();
    const values = offered(code) ? data.features.map((f) => f.properties[code]) : [];
    breaks = K.breaksFor(controls.scheme.value, values, parseInt(controls.classes.value, 10));
    palette = K.paletteFor(entry(code).higher_is, Math.max(1, breaks.length - 1));
  }

  function style(feature) {
    const p = feature.properties, code = indicator(), isSelected = selected.has(p.key_code);
    let fill = K.NO_DATA, dash = null;
    if (suppressedFor(p, code)) { fill = SUPPRESSED; dash = "3 3"; }
    else if (offered(code)) {
      const index = K.classOf(p[code], breaks);
      fill = index < 0 ? K.NO_DATA : palette[Math.min(index, palette.length - 1)];
    }
    const colouring = controls.layer.checked;
    return {
      color: isSelected ? SELECTED : "#555", weight: isSelected ? 3 : 0.7, dashArray: dash,
      fillColor: isSelected && !colouring ? SELECTED : fill,
      fillOpacity: colouring ? 0.8 : (isSelected ? 0.35 : 0.02), className: "karte-small-area",
    };
  }

  function renderLegend() {
    const div = el("small-area-legend");
    if (!div) return;
    const code = indicator(), e = entry(code);
    let html = "<strong>" + C.escapeHtml(S.small_areas || "") + ": " + C.escapeHtml(e.label) + "</strong>";
    if (!offered(code)) {
      div.innerHTML = html + '<div class="legend-note">' + C.escapeHtml(S.not_small_area || "") + "</div>";
      return;
    }
    html += "<ul>";
    for (let i = 0; i < breaks.length - 1; i++) {
      html += '<li><span class="swatch" data-colour="' + palette[Math.min(i, palette.length - 1)] + '"></span>'
        + fmt1(breaks[i]) + " – " + fmt1(breaks[i + 1]) + "</li>";
    }
    html += '<li><span class="swatch" data-colour="' + SUPPRESSED + '"></span>' + C.escapeHtml(S.suppressed || "") + "</li>";
    html += '<li><span class="swatch" data-colour="' + K.NO_DATA + '"></span>' + C.escapeHtml(S.no_data) + "</li></ul>";
    div.innerHTML = html;
    C.paintColours(div);
  }

  function popup(feature) {
    const p = feature.properties, code = indicator(), e = entry(code);
    const value = suppressedFor(p, code) ? C.escapeHtml(S.suppressed) : (offered(code) ? C.withUnit(fmt1(p[code]), e.unit) : "—");
    return '<div class="popup"><strong>' + C.escapeHtml(p.name_ja || p.key_code) + "</strong> <small>" + C.escapeHtml(p.key_code)
      + "</small><div>" + C.escapeHtml(e.label) + ": " + value + "</div></div>";
  }

  function draw() {
    if (layer) layer.remove();
    recompute();
    layer = L.geoJSON(data, {
      style: style,
      onEachFeature: (feature, item) => {
        item.on("add", () => { if (item._path) item._path.setAttribute("data-code", feature.properties.key_code); });
        item.on("click", (event) => {
          if (mode === "pick") {
            L.DomEvent.stopPropagation(event);
            if (lassoed) lassoed = false; else toggle(feature.properties.key_code);
          }
          else item.bindPopup(popup(feature)).openPopup(event.latlng);
        });
      },
    }).addTo(map);
    renderLegend();
  }

  async function load() {
    const b = map.getBounds().pad(0.2);
    const box = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map((v) => v.toFixed(5));
    if (data && loadedBox && L.latLngBounds([loadedBox[1], loadedBox[0]], [loadedBox[3], loadedBox[2]]).contains(map.getBounds())) return;
    say(S.loading);
    const response = await fetch(urls.small_areas + "?bbox=" + box.join(","), { headers: { Accept: "application/json" } });
    const body = await response.json();
    if (!response.ok) { say(body.error || ("HTTP " + response.status), true); return; }
    data = body; loadedBox = box;
    draw();
    say("");
    el("map").dataset.smallAreas = String(data.features.length);
  }

  function restyle() { if (layer) { recompute(); layer.setStyle(style); renderLegend(); } }

  function toggle(code) {
    if (selected.has(code)) selected.delete(code); else selected.add(code);
    restyle();
    update();
  }

  // Ray casting: is the point [x, y] inside the ring [[x, y], …]?
  function inside(point, ring) {
    let hit = false;
    for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
      const [xi, yi] = ring[i], [xj, yj] = ring[j];
      if ((yi > point[1]) !== (yj > point[1]) && point[0] < (xj - xi) * (point[1] - yi) / (yj - yi) + xi) hit = !hit;
    }
    return hit;
  }

  function finishLasso(latlngs) {
    if (latlngs.length < 3 || !data) return;
    const ring = latlngs.map((ll) => [ll.lng, ll.lat]);
    data.features.forEach((f) => { if (inside([f.properties.lon, f.properties.lat], ring)) selected.add(f.properties.key_code); });
    restyle();
    update();
  }

  function round(value) { return Number(value.toFixed(DECIMALS)); }

  function target() {
    if (mode === "pick" && selected.size) return urls.area_page + "?codes=" + encodeURIComponent(Array.from(selected).join(","));
    if (mode === "polygon" && polygon.length >= 3 && !sketch.options.open) {
      return urls.area_page + "?geometry=" + encodeURIComponent(polygon.map((ll) => round(ll.lng) + "," + round(ll.lat)).join(","));
    }
    if (mode === "circle" && centre) {
      return urls.area_page + "?lon=" + round(centre.lng) + "&lat=" + round(centre.lat) + "&radius=" + encodeURIComponent(controls.radius.value);
    }
    return null;
  }

  function update() {
    controls.open.disabled = !target();
    controls.finish.hidden = mode !== "polygon";
    controls.finish.disabled = !(mode === "polygon" && polygon.length >= 3 && sketch && sketch.options.open);
    if (mode === "pick") say((S.selected_areas || "") + ": " + selected.size);
    else if (mode === "polygon") say((S.vertices || "") + ": " + polygon.length);
    else if (mode === "circle") say(centre ? "" : (S.click_centre || ""));
    else say("");
  }

  function clearShapes() {
    selected.clear();
    polygon = [];
    if (sketch) { sketch.remove(); sketch = null; }
    if (circle) { circle.remove(); circle = null; }
    centre = null;
    restyle();
  }

  function setMode(value) {
    mode = value;
    clearShapes();
    map.getContainer().classList.toggle("area-drawing", !!mode);
    map.getContainer().classList.toggle("area-shape", mode === "polygon" || mode === "circle");
    map.closePopup();
    // Picking uses the drag for the lasso; drawing uses clicks (a double click must not zoom).
    if (mode === "pick") map.dragging.disable(); else map.dragging.enable();
    if (mode === "polygon") map.doubleClickZoom.disable(); else map.doubleClickZoom.enable();
    if (mode === "pick" || controls.layer.checked) guarded(load)();
    else if (layer && !controls.layer.checked) { layer.remove(); layer = null; legend.remove(); }
    update();
  }

  function closePolygon() {
    if (!sketch || polygon.length < 3) return;
    sketch.remove();
    sketch = L.polygon(polygon, { color: SELECTED, weight: 3, fillOpacity: 0.15, open: false, className: "area-sketch" }).addTo(map);
    update();
  }

  map.on("click", (event) => {
    if (mode === "polygon") {
      if (sketch && !sketch.options.open) return;  // closed: "clear" to start again
      const first = polygon[0];
      if (polygon.length >= 3 && map.latLngToContainerPoint(first).distanceTo(event.containerPoint) < 10) { closePolygon(); return; }
      polygon.push(event.latlng);
      if (!sketch) sketch = L.polyline([], { color: SELECTED, weight: 2, dashArray: "4 4", open: true, className: "area-sketch" }).addTo(map);
      sketch.setLatLngs(polygon);
      update();
    } else if (mode === "circle") {
      centre = event.latlng;
      if (circle) circle.remove();
      circle = L.circle(centre, { radius: Number(controls.radius.value) || 500, color: SELECTED, weight: 2, fillOpacity: 0.1, className: "area-circle" }).addTo(map);
      update();
    }
  });

  // The lasso: press, drag, release (mouse or touch, through Leaflet's pointer-neutral events).
  map.on("mousedown", (event) => {
    if (mode !== "pick") return;
    lassoed = false;
    lasso = { points: [event.latlng], line: L.polyline([event.latlng], { color: SELECTED, weight: 2, dashArray: "4 4", interactive: false }).addTo(map) };
  });
  map.on("mousemove", (event) => {
    if (!lasso) return;
    lasso.points.push(event.latlng);
    lasso.line.setLatLngs(lasso.points);
  });
  map.on("mouseup", () => {
    if (!lasso) return;
    const points = lasso.points;
    lasso.line.remove();
    lasso = null;
    if (points.length >= 3) { lassoed = true; finishLasso(points); }
  });

  function guarded(fn) {
    return (...args) => fn(...args).catch((error) => say(S.load_failed + " (" + ((error && error.message) || String(error)) + ")", true));
  }

  document.querySelectorAll("input[name=area-mode]").forEach((radio) => radio.addEventListener("change", () => setMode(radio.value)));
  controls.radius.addEventListener("input", () => { if (circle) circle.setRadius(Number(controls.radius.value) || 500); update(); });
  controls.clear.addEventListener("click", () => { clearShapes(); update(); });
  controls.finish.addEventListener("click", closePolygon);
  controls.open.addEventListener("click", () => { const url = target(); if (url) window.location.assign(url); });
  controls.layer.addEventListener("change", () => {
    if (controls.layer.checked) { legend.addTo(map); guarded(load)(); }
    else { legend.remove(); if (mode !== "pick" && layer) { layer.remove(); layer = null; } else restyle(); }
  });
  [controls.indicator, controls.scheme, controls.classes].forEach((select) => select.addEventListener("change", restyle));
  map.on("moveend", () => { if (layer && (controls.layer.checked || mode === "pick")) guarded(load)(); });
  update();
})();
