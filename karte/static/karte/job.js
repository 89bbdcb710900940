/* A background job's page: poll its status (/jobs/<id>/) and offer the result once it is done. */
(function () {
  "use strict";
  const C = KarteCommon;
  const config = C.readConfig("karte-job-config");
  const S = config.strings || {};
  const section = document.getElementById("job");
  const bar = document.getElementById("job-progress");
  const percent = document.getElementById("job-percent");
  const message = document.getElementById("job-message");
  const error = document.getElementById("job-error");
  const result = document.getElementById("job-result");

  function show(state) {
    section.dataset.status = state.status;
    bar.value = state.progress;
    bar.textContent = state.progress + "%";
    percent.textContent = state.progress;
    message.textContent = state.message || "";
    if (state.status === "done") {
      const link = document.createElement("a");
      if (state.result && state.result.file) {
        link.href = config.file_url;
        link.textContent = S.download;
      } else if (state.result && state.result.siting_run) {
        link.href = config.siting_url + "?run=" + encodeURIComponent(state.result.siting_run);
        link.textContent = S.open_result;
      }
      result.replaceChildren(document.createTextNode(S.done + " "), link);
      result.hidden = false;
    } else if (state.finished) {
      error.textContent = S.failed + ": " + (state.error || "");
      error.hidden = false;
    }
  }

  async function poll() {
    try {
      const response = await fetch(config.status_url, { headers: { Accept: "application/json" } });
      if (response.ok) {
        const state = await response.json();
        show(state);
        if (state.finished) return;
        setTimeout(poll, 1000 * (state.poll_after_s || 1));
        return;
      }
    } catch (e) { /* the network may come back: try again */ }
    setTimeout(poll, 3000);
  }
  poll();
})();
