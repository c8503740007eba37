// The pin map of a delivery-site form: clicking the map puts a pin there and fills the
// form's hidden lat/lon fields (degrees, EPSG:4326). Without this script (or Leaflet) the
// form still works with a postcode.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  const box = document.getElementById("pin-map");
  if (!box || typeof L === "undefined") { return; }
  const lat = document.getElementById("f-lat");
  const lon = document.getElementById("f-lon");
  const said = document.getElementById("pin-chosen");
  const map = L.map(box).setView([Number(box.dataset.lat), Number(box.dataset.lon)], Number(box.dataset.zoom));
  if (box.dataset.tiles) {
    L.tileLayer(box.dataset.tiles, {
      maxZoom: 19,
      attribution: "© OpenStreetMap contributors",
    }).addTo(map);
  }
  for (const point of JSON.parse(box.dataset.pins || "[]")) {
    L.circleMarker(point, { radius: 7, color: "#1d70b8" }).addTo(map);
  }
  let pin = null;
  function place(latlng) {
    const chosen = [latlng.lat.toFixed(6), latlng.lng.toFixed(6)];
    lat.value = chosen[0];
    lon.value = chosen[1];
    if (pin) { pin.setLatLng(latlng); } else { pin = L.marker(latlng, { keyboard: false }).addTo(map); }
    said.textContent = "Pin at " + chosen[0] + ", " + chosen[1] + ": add the site to keep it (leave the postcode blank).";
  }
  if (lat.value && lon.value) { place(L.latLng(Number(lat.value), Number(lon.value))); }
  map.on("click", function (event) { place(event.latlng); });
});
