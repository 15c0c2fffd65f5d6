// EVY console: refresh server-rendered fragments, and count SMS segments as an operator types.
// The server renders (and escapes) every fragment; this script only swaps them in.
"use strict";

function refresh(element) {
  const every = Math.max(2, Number(element.dataset.every || 5)) * 1000;
  const load = async () => {
    try {
      const response = await fetch(element.dataset.refresh, {credentials: "same-origin", cache: "no-store"});
      if (response.status === 401) { window.location.assign("/login"); return; }
      if (response.ok) {
        const html = await response.text();
        if (html !== element.dataset.last) { element.innerHTML = html; element.dataset.last = html; }
      }
    } catch (error) { /* the kit may be busy or the Wi-Fi gone: try again next time */ }
    window.setTimeout(load, every);
  };
  window.setTimeout(load, every);
}

function counter(area) {
  const out = document.getElementById(area.dataset.counter);
  let timer = null;
  const update = async () => {
    const response = await fetch("/api/segments?text=" + encodeURIComponent(area.value), {credentials: "same-origin"});
    if (!response.ok) { return; }
    const count = await response.json();
    out.textContent = count.characters + " characters · " + count.segments + " SMS · " + count.encoding
      + (count.segments > count.limit ? " · too long (at most " + count.limit + " SMS)" : "");
    out.classList.toggle("over", count.segments > count.limit);
  };
  area.addEventListener("input", () => { window.clearTimeout(timer); timer = window.setTimeout(update, 150); });
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("[data-refresh]").forEach(refresh);
  document.querySelectorAll("textarea[data-counter]").forEach(counter);
});
