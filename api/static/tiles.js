// The vector-tile map (/ogc/map): coverage hexagons coloured by gap index nationally,
// territory borders, and from a closer zoom the small areas themselves coloured by gap
// (LSOA polygons in England and Wales; Scotland and Northern Ireland keep the hexagons),
// the need areas (the most deprived outlined) and activities, all drawn by Leaflet.VectorGrid from the OGC API's Mapbox Vector Tiles.
// Feature properties are only read as numbers for styling: no text from a tile reaches
// the page. Open at a view with #zoom/lat/lon in the address.
(function () {
  "use strict";
  var box = document.getElementById("tile-map");
  var collections = box.dataset.collections;
  var query = box.dataset.include === "all" ? "?include=all" : "";
  var detail = Number(box.dataset.detailZoom);
  var areaZoom = Number(box.dataset.areaZoom);
  var GAP = [[0.8, "#67000d"], [0.6, "#cb181d"], [0.4, "#fb6a4a"], [0.2, "#fcbba1"], [0, "#fff5f0"]];

  function gapColour(value) {
    for (var i = 0; i < GAP.length; i += 1) {
      if (Number(value) >= GAP[i][0]) { return GAP[i][1]; }
    }
    return GAP[GAP.length - 1][1];
  }

  function tiles(id, style, options) {
    var styles = {};
    styles[id] = style;
    return L.vectorGrid.protobuf(
      collections + "/" + id + "/tiles/WebMercatorQuad/{z}/{x}/{y}" + query,
      Object.assign({
        rendererFactory: L.canvas.tile,
        interactive: false,
        maxNativeZoom: 14,
        vectorTileLayerStyles: styles
      }, options || {})
    );
  }

  // A view to open at may come in the address as #zoom/lat/lon (say #12/51.75/-1.26).
  var view = window.location.hash.slice(1).split("/").map(Number);
  var start = view.length === 3 && view.every(isFinite) ? view : [6, 54.2, -2.6];
  var map = L.map(box, {
    center: [start[1], start[2]], zoom: start[0], minZoom: 5, maxZoom: 16, attributionControl: false
  });
  var hexagons = tiles("coverage_hexagons", function (p) {
    return { fill: true, fillColor: gapColour(p.gap_index), fillOpacity: 0.75, stroke: false };
  }).addTo(map);
  var smallAreas = tiles("coverage_areas", function (p) {
    return p.drawn_as === "polygon"
      ? { fill: true, fillColor: gapColour(p.gap_index), fillOpacity: 1, stroke: false }
      : { fill: false, stroke: false, radius: 0 };
  }, { minZoom: areaZoom }).addTo(map);
  var needAreas = tiles("need_areas", function (p) {
    var deprived = Number(p.uk_imd_decile) <= 3;
    return { fill: false, stroke: true, color: deprived ? "#54278f" : "#9e9ac8", weight: deprived ? 1.5 : 0.5, radius: 2 };
  }, { minZoom: detail }).addTo(map);
  var activities = tiles("activities", function () {
    return { fill: true, fillColor: "#1b7837", fillOpacity: 1, color: "#fff", weight: 1, radius: 5 };
  }, { minZoom: detail }).addTo(map);
  var borders = tiles("territories", function () {
    return { fill: false, stroke: true, color: "#222", weight: 1.5 };
  }).addTo(map);
  L.control.layers(null, {
    "Gap index (hexagons)": hexagons,
    "Gap index (small areas)": smallAreas,
    "Need areas": needAreas,
    "Activities": activities,
    "Territory borders": borders
  }, { collapsed: window.matchMedia("(max-width: 600px)").matches }).addTo(map);
})();
