/* The siting page: a busy indicator while the run computes, and the chosen sites on a map. */
(function () {
  "use strict";
  const C = KarteCommon;
  const config = C.readConfig("karte-siting-config");
  const S = config.strings || {};
  const fmt0 = C.numberFormatter(config.language, 0);

  // The form posts normally (it works without JavaScript); while the server computes, show that
  // it is working and for how long, and stop a second click from starting a second run.
  const form = document.getElementById("siting-form");
  const busy = document.getElementById("siting-busy");
  const elapsed = document.getElementById("siting-elapsed");
  const button = document.getElementById("siting-submit");
  form.addEventListener("submit", () => {
    const started = Date.now();
    busy.classList.add("active");
    if (button) button.disabled = true;
    setInterval(() => { elapsed.textContent = fmt0((Date.now() - started) / 1000); }, 500);
  });

  const mapNode = document.getElementById("siting-map");
  const sites = config.layers && config.layers.sites;
  if (!mapNode || !sites) return;
  // A view first: circles can only measure their bounds on a map that has one.
  const map = L.map(mapNode, { maxZoom: 18 }).setView([35.57, 139.6], 11);
  (window.KarteMaps = window.KarteMaps || []).push(map);  // the place search (search.js) zooms it
  C.addBasemap(map, config.tiles);
  const group = L.featureGroup().addTo(map);
  sites.features.forEach((f) => {
    const p = f.properties;
    if (p.lat === null || p.lat === undefined) return;
    L.circle([p.lat, p.lon], { radius: config.walk_distance_m, color: "#b30000", weight: 1.5, fillOpacity: 0.08, interactive: false }).addTo(group);
    L.marker([p.lat, p.lon], {
      icon: L.divIcon({ className: "site-icon", html: "<span>" + fmt0(p.order) + "</span>", iconSize: [24, 24] }),
      title: p.name || "",
    }).bindPopup("<strong>" + C.escapeHtml(S.chosen_site) + " " + fmt0(p.order) + ": " + C.escapeHtml(p.name || "—") + "</strong><br>"
      + C.escapeHtml(S.newly_covered) + ": " + fmt0(p.newly_covered) + C.escapeHtml(S.persons)).addTo(group);
  });
  fetch(config.urls.wards).then((r) => (r.ok ? r.json() : null)).then((data) => {
    if (data) L.geoJSON(data, { interactive: false, style: { color: "#333", weight: 2, fill: false, dashArray: "6 3" } }).addTo(map).bringToBack();
  }).catch(() => {});
  if (group.getLayers().length) map.fitBounds(group.getBounds(), { padding: [30, 30], maxZoom: 15 });
  mapNode.dataset.ready = "1";
})();
