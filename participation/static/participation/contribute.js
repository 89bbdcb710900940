/* The participant's form on a phone: tap the map to place a pin (kept in the hidden lon/lat fields),
 * show only the fields of the chosen type, and keep a draft of everything typed in localStorage so
 * that a failed submit (a network drop in the hall, a closed tab) never loses it. The draft is
 * dropped once the server confirms the contribution (the page then carries #submitted). */
(function () {
  "use strict";
  const C = KarteCommon;
  const config = C.readConfig("participation-map-config");
  const S = config.strings || {};
  const form = document.getElementById("contribution-form");
  const key = config.draft_key;

  function storage() {
    try { return window.localStorage; } catch (e) { return null; }
  }

  // A confirmed submission: its draft is no longer needed.
  if (document.getElementById("submitted") && storage()) storage().removeItem(key);
  if (!form) return;

  const lon = form.querySelector("input[name='lon']");
  const lat = form.querySelector("input[name='lat']");
  const status = document.getElementById("pin-status");
  const draftStatus = document.getElementById("draft-status");
  // Every field a person fills, and the pin; not the CSRF token, not the photo (a file cannot be kept).
  const fields = () => Array.from(form.elements).filter((el) => el.name && el.name !== "csrfmiddlewaretoken"
    && el.type !== "file" && (el.type !== "hidden" || el.name === "lon" || el.name === "lat"));

  function showType() {
    const checked = form.querySelector("input[name='type']:checked");
    const type = checked ? checked.value : "";
    form.querySelectorAll(".type-fields").forEach((group) => { group.hidden = group.dataset.type !== type; });
  }

  // ---- the map -------------------------------------------------------------------------------
  const map = L.map("pin-map", { maxZoom: 19 });
  // The header's place search (karte/static/karte/search.js) moves this map to a place typed there.
  (window.KarteMaps = window.KarteMaps || []).push(map);
  C.addBasemap(map, config.tiles);
  const boundary = L.geoJSON(config.district, { style: { color: "#045a8d", weight: 3, fillOpacity: 0.06 }, interactive: false }).addTo(map);
  if (boundary.getLayers().length) map.fitBounds(boundary.getBounds(), { padding: [8, 8] });
  else map.setView([35.57, 139.6], 12);
  let pin = null;
  function placePin(latlng, quiet) {
    if (pin) pin.setLatLng(latlng);
    else pin = L.marker(latlng, { draggable: true, title: S.placed }).addTo(map).on("dragend", () => placePin(pin.getLatLng()));
    lon.value = latlng.lng.toFixed(7);
    lat.value = latlng.lat.toFixed(7);
    status.textContent = S.placed;
    document.getElementById("pin-map").dataset.pin = "1";
    if (!quiet) saveDraft();
  }
  map.on("click", (event) => placePin(event.latlng));

  // ---- the draft -----------------------------------------------------------------------------
  function saveDraft() {
    const store = storage();
    if (!store) return;
    const values = {};
    fields().forEach((el) => {
      if (el.type === "radio") { if (el.checked) values[el.name] = el.value; }
      else if (el.type === "checkbox") values[el.name] = el.checked;
      else values[el.name] = el.value;
    });
    store.setItem(key, JSON.stringify(values));
  }

  function restoreDraft() {
    const store = storage();
    const raw = store && store.getItem(key);
    if (!raw) return false;
    let values;
    try { values = JSON.parse(raw); } catch (e) { return false; }
    // The server's re-rendered form (a failed submit) already holds what was typed: keep it.
    const typed = fields().some((el) => (el.tagName === "TEXTAREA" || el.type === "text") && el.value);
    if (typed) return false;
    fields().forEach((el) => {
      if (!(el.name in values)) return;
      if (el.type === "radio") el.checked = el.value === values[el.name];
      else if (el.type === "checkbox") el.checked = Boolean(values[el.name]);
      else el.value = values[el.name];
    });
    return true;
  }

  const restored = restoreDraft();
  if (lon.value && lat.value) {
    placePin(L.latLng(Number(lat.value), Number(lon.value)), true);
    map.setView(pin.getLatLng(), Math.max(map.getZoom(), 16));
  }
  if (restored) draftStatus.textContent = S.draft_restored;
  showType();
  form.addEventListener("input", saveDraft);
  form.addEventListener("change", () => { showType(); saveDraft(); });
  form.addEventListener("submit", saveDraft);
  document.getElementById("pin-map").dataset.ready = "1";
})();
