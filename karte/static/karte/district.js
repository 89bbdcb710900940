/* One district's map: its boundary, resources and top candidate sites, all inlined in the page
 * (a single district's layers are small, unlike the city map's). */
(function () {
  "use strict";
  const C = KarteCommon;
  const config = C.readConfig("karte-district-config");
  const S = config.strings || {};
  const fmt0 = C.numberFormatter(config.language, 0);
  const fmt1 = C.numberFormatter(config.language, 1);
  const layers = config.layers || {};
  const map = L.map("district-map", { maxZoom: 18 });
  (window.KarteMaps = window.KarteMaps || []).push(map);  // the place search (search.js) zooms it
  C.addBasemap(map, config.tiles);
  const boundary = L.geoJSON(layers.district, {
    style: { color: "#045a8d", weight: 3, fillOpacity: 0.08, className: "karte-district" },
  }).addTo(map);
  if (boundary.getLayers().length) map.fitBounds(boundary.getBounds(), { padding: [12, 12] });
  else map.setView([35.57, 139.6], 12);
  const kinds = {};
  (config.kinds || []).forEach((k) => { kinds[k.code] = k; });
  L.geoJSON(layers.resources, {
    pointToLayer: (f, latlng) => L.marker(latlng, {
      icon: C.kindIcon(kinds[f.properties.kind] || { colour: "#666", glyph: "・" }, "resource-marker"),
      title: f.properties.name || f.properties.kind_label_ja || "",
    }),
    onEachFeature: (f, layer) => layer.bindPopup(C.resourcePopup(f.properties, S, config.kinds)),
  }).addTo(map);
  (layers.candidates && layers.candidates.features || []).forEach((f) => {
    const p = f.properties;
    L.circle([p.lat, p.lon], { radius: p.walk_distance_m, color: "#6a51a3", weight: 1, fillOpacity: 0.05, interactive: false }).addTo(map);
    L.marker([p.lat, p.lon], {
      icon: L.divIcon({ className: "candidate-icon", html: "<span>" + fmt0(p.rank) + "</span>", iconSize: [22, 22] }),
      title: p.name || "", zIndexOffset: 500,
    }).bindPopup("<strong>" + C.escapeHtml(S.candidate) + " " + fmt0(p.rank) + ": " + C.escapeHtml(p.name || "—") + "</strong><br>"
      + C.escapeHtml(S.score) + ": " + fmt1(p.score) + "<br>" + C.escapeHtml(S.walk_circle) + ": " + fmt0(p.walk_distance_m) + "\u2009m"
      + C.areaAroundLink((config.urls || {}).area_page, p, S))
      .addTo(map);
  });
  // Layers other apps add (karte.layers.extensions): markers with a glyph; popups show text only.
  (config.extra_layers || []).forEach((extra) => {
    L.geoJSON(extra.collection, {
      pointToLayer: (f, latlng) => L.marker(latlng, {
        icon: C.kindIcon({ colour: extra.colour, glyph: extra.glyph }, "extra-marker extra-" + extra.key),
        title: f.properties.label || extra.label,
      }),
      onEachFeature: (f, layer) => layer.bindPopup("<strong>" + C.escapeHtml(f.properties.label || extra.label) + "</strong>"
        + (f.properties.text ? "<br>" + C.escapeHtml(f.properties.text) : "")),
    }).addTo(map);
  });
  document.getElementById("district-map").dataset.ready = "1";
})();
