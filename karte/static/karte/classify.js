/* Class breaks and ColorBrewer palettes for the choropleth (no dependencies).
 *
 * Breaks are computed in the browser from the values the map already holds, so switching the
 * method or the number of classes needs no round trip. They follow mapclassify's definitions:
 * quantiles (equal counts), equal interval, and Fisher–Jenks natural breaks.
 * A break list is [min, upper_1, …, upper_k]; a value v falls in class i when v <= upper_(i+1).
 */
(function (global) {
  "use strict";

  // ColorBrewer (Cynthia Brewer, Penn State), sequential schemes marked colour-blind safe.
  const PALETTES = {
    YlOrRd: {
      3: ["#ffeda0", "#feb24c", "#f03b20"],
      4: ["#ffffb2", "#fecc5c", "#fd8d3c", "#e31a1c"],
      5: ["#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026"],
      6: ["#ffffb2", "#fed976", "#feb24c", "#fd8d3c", "#f03b20", "#bd0026"],
      7: ["#ffffb2", "#fed976", "#feb24c", "#fd8d3c", "#fc4e2a", "#e31a1c", "#b10026"],
    },
    PuBu: {
      3: ["#ece7f2", "#a6bddb", "#2b8cbe"],
      4: ["#f1eef6", "#bdc9e1", "#74a9cf", "#0570b0"],
      5: ["#f1eef6", "#bdc9e1", "#74a9cf", "#2b8cbe", "#045a8d"],
      6: ["#f1eef6", "#d0d1e6", "#a6bddb", "#74a9cf", "#2b8cbe", "#045a8d"],
      7: ["#f1eef6", "#d0d1e6", "#a6bddb", "#74a9cf", "#3690c0", "#0570b0", "#034e7b"],
    },
  };
  const NO_DATA = "#d9d9d9";

  function sorted(values) {
    return values.filter((v) => v !== null && v !== undefined && Number.isFinite(v)).sort((a, b) => a - b);
  }

  function dedupe(breaks) {
    const out = [];
    breaks.forEach((b) => { if (!out.length || b > out[out.length - 1]) out.push(b); });
    if (out.length === 1) out.push(out[0]);
    return out;
  }

  function quantiles(values, k) {
    const v = sorted(values);
    if (!v.length) return [];
    const breaks = [v[0]];
    for (let i = 1; i <= k; i++) {
      const pos = (v.length - 1) * (i / k);
      const lo = Math.floor(pos), hi = Math.ceil(pos);
      breaks.push(v[lo] + (v[hi] - v[lo]) * (pos - lo));
    }
    return dedupe(breaks);
  }

  function equalInterval(values, k) {
    const v = sorted(values);
    if (!v.length) return [];
    const min = v[0], max = v[v.length - 1], width = (max - min) / k;
    const breaks = [min];
    for (let i = 1; i < k; i++) breaks.push(min + width * i);
    breaks.push(max);
    return dedupe(breaks);
  }

  // Fisher–Jenks optimal classification (dynamic programming; fine for a city's ~100 districts).
  function naturalBreaks(values, k) {
    const v = sorted(values);
    const n = v.length;
    if (!n) return [];
    if (n <= k) return dedupe([v[0]].concat(v));
    const lower = [], variance = [];
    for (let i = 0; i <= n; i++) {
      lower.push(new Array(k + 1).fill(0));
      variance.push(new Array(k + 1).fill(Infinity));
    }
    for (let j = 1; j <= k; j++) { lower[1][j] = 1; variance[1][j] = 0; }
    for (let l = 2; l <= n; l++) {
      let sum = 0, sumSq = 0, w = 0, ssd = 0;
      for (let m = 1; m <= l; m++) {
        const i3 = l - m + 1, val = v[i3 - 1];
        w += 1; sum += val; sumSq += val * val;
        ssd = sumSq - (sum * sum) / w;
        const i4 = i3 - 1;
        if (i4 !== 0) {
          for (let j = 2; j <= k; j++) {
            if (variance[l][j] >= ssd + variance[i4][j - 1]) {
              lower[l][j] = i3;
              variance[l][j] = ssd + variance[i4][j - 1];
            }
          }
        }
      }
      lower[l][1] = 1;
      variance[l][1] = ssd;
    }
    const breaks = new Array(k + 1);
    breaks[k] = v[n - 1];
    breaks[0] = v[0];
    let idx = n;
    for (let j = k; j >= 2; j--) {
      const id = lower[idx][j] - 2;
      breaks[j - 1] = v[id];
      idx = lower[idx][j] - 1;
    }
    return dedupe(breaks);
  }

  function breaksFor(scheme, values, k) {
    if (scheme === "equal_interval") return equalInterval(values, k);
    if (scheme === "natural_breaks") return naturalBreaks(values, k);
    return quantiles(values, k);
  }

  function classOf(value, breaks) {
    if (value === null || value === undefined || !Number.isFinite(value) || breaks.length < 2) return -1;
    for (let i = 1; i < breaks.length; i++) if (value <= breaks[i]) return i - 1;
    return breaks.length - 2;
  }

  // Higher is worse → yellow-orange-red; better or neutral → purple-blue.
  function paletteFor(higherIs, classes) {
    const scheme = higherIs === "worse" ? PALETTES.YlOrRd : PALETTES.PuBu;
    return scheme[Math.min(7, Math.max(3, classes))].slice(0, Math.max(1, classes));
  }

  // ColorBrewer RdBu (11 classes, diverging, colour-blind safe): blues for a fall, reds for a rise,
  // white for no change; each half from pale (small) to dark (large).
  const FALLS = ["#d1e5f0", "#92c5de", "#4393c3", "#2166ac", "#053061"];
  const RISES = ["#fddbc7", "#f4a582", "#d6604d", "#b2182b", "#67001f"];
  const NEUTRAL = "#f7f7f7";
  const DIVERGING = FALLS.slice().reverse().concat([NEUTRAL], RISES);

  function spread(ramp, n) {  // n colours of a ramp, as far apart as the ramp allows
    if (n <= 1) return ramp.slice(1, 2);
    return Array.from({ length: n }, (_, i) => ramp[Math.round((i * (ramp.length - 1)) / (n - 1))]);
  }

  // A change (e.g. ageing rate 2015→2020, in points): the same class breaks as any indicator; the
  // classes above 0 take the reds, those below 0 the blues (each as far apart as their number
  // allows, the larger the change the darker), a class holding 0 is white. Where higher is
  // better (e.g. walk coverage) a rise is good news and takes the blues instead.
  function divergingPalette(breaks, higherIs) {
    const classes = [];
    for (let i = 0; i < breaks.length - 1; i++) classes.push([breaks[i], breaks[i + 1]]);
    const isRise = ([lo, hi]) => lo >= 0 && hi > 0;
    const isFall = ([lo, hi]) => lo < 0 && hi <= 0;
    const rises = classes.filter(isRise);
    const falls = classes.filter(isFall);
    const up = higherIs === "better" ? FALLS : RISES;
    const down = higherIs === "better" ? RISES : FALLS;
    const upColours = spread(up, rises.length);
    const downColours = spread(down, falls.length).reverse();  // the most negative class is darkest
    let r = 0, f = 0;
    const colours = classes.map((range) => {
      if (isRise(range)) return upColours[r++];
      if (isFall(range)) return downColours[f++];
      return NEUTRAL;  // the class holds 0: no change, or changes both ways
    });
    return colours.length ? colours : [NEUTRAL];
  }

  // The palette of an indicator entry ({higher_is, diverging}) for these breaks.
  function paletteOf(entry, breaks) {
    if (entry && entry.diverging) return divergingPalette(breaks, entry.higher_is);
    return paletteFor(entry && entry.higher_is, Math.max(1, breaks.length - 1));
  }

  global.KarteClassify = {
    breaksFor, classOf, paletteFor, paletteOf, divergingPalette, quantiles, equalInterval, naturalBreaks, NO_DATA, PALETTES,
    DIVERGING,
  };
})(window);
