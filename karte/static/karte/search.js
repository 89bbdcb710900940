/* Place search in the page header: suggestions from /api/search/ as one types (debounced), usable
 * with the keyboard (ARIA combobox: ↓ ↑ Enter Esc) and by tapping.
 *
 * Choosing a place on a page with a Leaflet map (the scripts of those pages push their map onto
 * window.KarteMaps) zooms there — an area's box or a facility's point, outlined — and offers the link
 * to its karte. On a page without a map it opens the karte, or the city map focused on the place.
 * No inline script: strings come from the form's data- attributes (translated in the template).
 */
(function () {
  "use strict";
  const form = document.getElementById("place-search");
  if (!form) return;
  const input = form.querySelector("input[type=search]");
  const list = document.getElementById("place-search-list");
  const result = document.getElementById("place-search-result");
  const status = document.getElementById("place-search-status");
  const D = form.dataset;
  const LABELS = { district: D.labelDistrict, ward: D.labelWard, small_area: D.labelSmallArea, resource: D.labelFacility };
  const KINDS = JSON.parse(D.kindLabels || "{}");  // resource kinds in the page's language
  const DEBOUNCE_MS = 200;
  let timer = null;
  let controller = null;
  let options = [];
  let active = -1;
  let highlight = null;

  function text(tag, className, content) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    node.textContent = content;
    return node;
  }

  function close() {
    list.hidden = true;
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
    active = -1;
  }

  function setActive(index) {
    const items = list.querySelectorAll("[role=option]");
    if (!items.length) return;
    active = (index + items.length) % items.length;
    items.forEach((item, i) => item.setAttribute("aria-selected", i === active ? "true" : "false"));
    input.setAttribute("aria-activedescendant", items[active].id);
    items[active].scrollIntoView({ block: "nearest" });
  }

  function kindLabel(place) {
    if (place.kind === "resource") return KINDS[place.resource_kind] || place.detail || LABELS.resource;
    return LABELS[place.kind] || place.kind;
  }

  function render(places, query) {
    options = places;
    list.replaceChildren();
    if (!places.length) {
      list.appendChild(text("li", "place-search-empty", D.noResults.replace("{q}", query)));
      list.hidden = false;
      input.setAttribute("aria-expanded", "true");
      status.textContent = D.noResults.replace("{q}", query);
      return;
    }
    places.forEach((place, index) => {
      const item = document.createElement("li");
      item.id = "place-search-option-" + index;
      item.setAttribute("role", "option");
      item.setAttribute("aria-selected", "false");
      item.dataset.kind = place.kind;
      item.dataset.group = place.group;
      item.appendChild(text("span", "place-search-name", place.name));
      item.appendChild(text("span", "place-search-kind", kindLabel(place)));
      const where = place.kind === "resource" ? "" : place.detail;
      if (where) item.appendChild(text("span", "place-search-detail", where));
      // A mousedown would blur the input before the click lands; choose on click, keep focus.
      item.addEventListener("mousedown", (event) => event.preventDefault());
      item.addEventListener("click", () => choose(index));
      list.appendChild(item);
    });
    list.hidden = false;
    input.setAttribute("aria-expanded", "true");
    status.textContent = D.resultsCount.replace("{n}", String(places.length));
  }

  async function suggest() {
    const query = input.value.trim();
    if (!query) { close(); return; }
    if (controller) controller.abort();
    controller = new AbortController();
    const url = D.url + "?" + new URLSearchParams({ q: query.slice(0, 100), limit: "8" });
    try {
      const response = await fetch(url, { headers: { Accept: "application/json" }, signal: controller.signal });
      if (!response.ok) { render([], query); return; }
      const body = await response.json();
      if (input.value.trim() === query) render(body.results || [], query);
    } catch (error) {
      if (error.name !== "AbortError") status.textContent = D.failed;
    }
  }

  function pageMap() {
    const maps = window.KarteMaps || [];
    return maps.length && window.L ? maps[0] : null;
  }

  function bounds(place) {
    if (place.bbox) return [[place.bbox[1], place.bbox[0]], [place.bbox[3], place.bbox[2]]];
    if (place.point) return [[place.point[1], place.point[0]], [place.point[1], place.point[0]]];
    return null;
  }

  function zoomTo(map, place) {
    const box = bounds(place);
    if (!box) return;
    if (highlight) highlight.remove();
    if (place.bbox) {
      highlight = L.rectangle(box, { color: "#d7301f", weight: 3, dashArray: "6 4", fill: false, interactive: false,
        className: "place-search-highlight" }).addTo(map);
      map.fitBounds(box, { padding: [24, 24], maxZoom: 17 });
    } else {
      highlight = L.circleMarker(box[0], { radius: 14, color: "#d7301f", weight: 3, fill: false, interactive: false,
        className: "place-search-highlight" }).addTo(map);
      map.setView(box[0], Math.max(map.getZoom(), 16));
    }
  }

  function karteLink(place) {
    const link = document.createElement("a");
    link.href = place.url;
    link.className = "place-search-link";
    link.textContent = place.kind === "small_area" ? D.openAreaKarte : (place.kind === "ward" ? D.openWard : D.openKarte);
    return link;
  }

  // The place's name and karte link, in a popup on the map (seen on a phone, where the header is
  // scrolled away) and under the search box.
  function showChosen(place) {
    if (highlight && place.name) {
      const popup = document.createElement("div");
      popup.className = "place-search-popup";
      popup.appendChild(text("strong", "", place.name));
      popup.appendChild(text("span", "place-search-kind", kindLabel(place)));
      if (place.url) { popup.appendChild(document.createElement("br")); popup.appendChild(karteLink(place)); }
      highlight.bindPopup(popup, { autoPan: false }).openPopup();
    }
    result.replaceChildren();
    result.appendChild(text("strong", "", place.name));
    result.appendChild(text("span", "place-search-kind", kindLabel(place)));
    if (place.url) result.appendChild(karteLink(place));
    const dismiss = document.createElement("button");
    dismiss.type = "button";
    dismiss.className = "place-search-dismiss";
    dismiss.setAttribute("aria-label", D.dismiss);
    dismiss.textContent = "×";
    dismiss.addEventListener("click", () => { result.hidden = true; if (highlight) { highlight.remove(); highlight = null; } });
    result.appendChild(dismiss);
    result.hidden = false;
  }

  function choose(index) {
    const place = options[index];
    if (!place) return;
    close();
    input.value = place.name;
    const map = pageMap();
    if (map) {
      zoomTo(map, place);
      showChosen(place);
      // On a phone the map may lie below the controls: bring it into view.
      const box = map.getContainer().getBoundingClientRect();
      if (box.top > window.innerHeight * 0.6 || box.bottom < 0) map.getContainer().scrollIntoView({ block: "center" });
      return;
    }
    // No map here: open the place's karte, or the city map focused on it.
    const box = place.bbox || (place.point ? place.point.concat(place.point) : null);
    if (place.url) window.location.assign(place.url);
    else if (box) window.location.assign(D.home + "?focus=" + box.join(",") + "#map");
  }

  input.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(suggest, DEBOUNCE_MS);
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "ArrowDown") { event.preventDefault(); if (list.hidden) suggest(); else setActive(active + 1); }
    else if (event.key === "ArrowUp") { event.preventDefault(); setActive(active - 1); }
    else if (event.key === "Escape") { if (!list.hidden) { event.preventDefault(); close(); } }
    else if (event.key === "Enter") {
      event.preventDefault();
      if (!list.hidden && options.length) choose(active >= 0 ? active : 0);
      else { clearTimeout(timer); suggest(); }
    }
  });
  input.addEventListener("blur", () => setTimeout(close, 150));
  form.addEventListener("submit", (event) => event.preventDefault());

  // Arriving from a page without a map (?focus=west,south,east,north): zoom once the map has drawn.
  const focus = new URLSearchParams(window.location.search).get("focus");
  const numbers = focus ? focus.split(",").map(Number) : [];
  if (numbers.length === 4 && numbers.every(Number.isFinite)) {
    const place = { name: "", bbox: numbers[0] === numbers[2] && numbers[1] === numbers[3] ? null : numbers,
                    point: [numbers[0], numbers[1]] };
    const whenReady = () => {
      const map = pageMap();
      const node = map && map.getContainer();
      if (!node) return;
      if (node.dataset.ready) { zoomTo(map, place); return; }
      new MutationObserver((_, observer) => {
        if (node.dataset.ready) { observer.disconnect(); zoomTo(map, place); }
      }).observe(node, { attributes: true, attributeFilter: ["data-ready"] });
    };
    window.addEventListener("load", whenReady);
  }
})();
