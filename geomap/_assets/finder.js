// The post-16 options finder page (geomap.finder): answers a typed postcode from
// the data in #finder-data. Every text from the data is written with textContent.
(function () {
  "use strict";
  var D = JSON.parse(document.getElementById("finder-data").textContent);
  var P = D.providers;
  var N = D.options;
  var UNIT = 1e-5;
  var FULL = /^[A-Z]{1,2}[0-9][A-Z0-9]?[0-9][A-Z]{2}$/;
  var input = document.getElementById("postcode");
  var form = document.getElementById("finder-form");
  var message = document.getElementById("message");
  var results = document.getElementById("results");

  var index = new Map();
  D.postcodes.key.forEach(function (key, i) { index.set(key, i); });
  var outside = new Set(D.outside);

  function fold(text) { return String(text).toUpperCase().replace(/\s+/g, ""); }
  function spaced(key) { return key.length > 3 ? key.slice(0, -3) + " " + key.slice(-3) : key; }
  var EXAMPLE = spaced(D.postcodes.key[Math.floor(D.postcodes.key.length / 2)] || "HR1 1AA");

  function two(n) { return (n < 10 ? "0" : "") + n; }
  function clock(m) {
    m = ((Math.round(m) % 1440) + 1440) % 1440;
    return two(Math.floor(m / 60)) + ":" + two(m % 60);
  }
  function mins(m) { return m < 1 ? "under 1 min" : m + " min"; }
  function node(tag, className, text) {
    var e = document.createElement(tag);
    if (className) { e.className = className; }
    if (text !== undefined && text !== null) { e.textContent = text; }
    return e;
  }
  function say(text, problem) {
    message.textContent = text;
    message.className = problem ? "gm-problem" : "";
  }

  // ------------------------------------------------------------------ map
  var map = L.map("map", {zoomSnap: 0.25, attributionControl: false});
  L.control.scale({imperial: true}).addTo(map);
  L.geoJSON(D.base, {
    interactive: false,
    style: function () {
      return {color: "#777777", weight: 1, fillColor: "#f2efe9", fillOpacity: 0.6};
    }
  }).addTo(map);
  L.geoJSON(D.outline, {
    interactive: false,
    style: function () { return {color: "#333333", weight: 2, fill: false}; }
  }).addTo(map);
  var whole = L.latLngBounds([D.bounds[0], D.bounds[1]], [D.bounds[2], D.bounds[3]]);
  map.fitBounds(whole);
  var drawn = L.layerGroup().addTo(map);

  function latlng(lat, lon) { return L.latLng(lat * UNIT, lon * UNIT); }
  function icon(className, text) {
    var inner = node("div", null, text);
    return L.divIcon({className: className, html: inner, iconSize: [24, 24], iconAnchor: [12, 12]});
  }

  // ------------------------------------------------------------------ notes
  var notes = document.getElementById("notes");
  ["options", "providers", "car", "pt", "walk", "ratings", "students", "postcodes"].forEach(function (k) {
    if (D.notes[k]) { notes.appendChild(node("li", null, D.notes[k])); }
  });

  // ------------------------------------------------------------------ answers
  function ptText(k, p) {
    if (D.pt === null) { return "no public-transport times for this area (see About these results)"; }
    var m = D.pt[k];
    if (m === null) {
      return P.pt_known[p] ? "no journey found" : "not known (no times to this place)";
    }
    var text = mins(m);
    if (D.pt_leave !== null && D.pt_leave[k] !== null) {
      var changes = D.pt_changes[k];
      text += ": leave " + clock(D.pt_leave[k]) + ", " +
        (changes < 0 ? "on foot all the way" : changes === 0 ? "no changes" : changes === 1 ? "1 change" : changes + " changes") +
        ", arrive " + clock(D.pt_arrive[k]);
    }
    return text;
  }

  function row(list, term, value) {
    list.appendChild(node("dt", null, term));
    list.appendChild(node("dd", null, value));
  }

  function option(i, j, points) {
    var k = i * N + j;
    var p = D.option[k];
    if (p < 0) { return; }
    var border = !P.in_county[p];
    var li = node("li", border ? "gm-border" : "");
    li.appendChild(node("span", "gm-number", String(j + 1)));
    li.appendChild(node("span", "gm-name", P.name[p]));
    var where = border
      ? "across the border" + (P.council[p] ? " (" + P.council[p] + ")" : "")
      : "in " + D.name;
    li.appendChild(node("span", "gm-kind", P.kind[p] + ", " + where));
    var list = node("dl");
    row(list, "By car", D.car[k] === null ? "no journey found" : mins(D.car[k]));
    row(list, "Public transport", ptText(k, p));
    if (D.walk !== null && D.walk[k] !== null) { row(list, "Walking", mins(D.walk[k])); }
    row(list, "Ofsted rating", P.rating[p] === null ? "not known" : P.rating[p]);
    row(list, "Students aged 16–18", P.students[p] === null ? "not known" : P.students[p].toLocaleString("en-GB"));
    if (P.postcode[p]) { row(list, "Postcode", P.postcode[p]); }
    li.appendChild(list);
    results.appendChild(li);
    var at = latlng(P.lat[p], P.lon[p]);
    points.push(at);
    var tip = node("span", null, (j + 1) + ". " + P.name[p]);
    L.marker(at, {icon: icon("gm-pin" + (border ? " gm-border" : ""), String(j + 1)), title: P.name[p]})
      .bindTooltip(tip)
      .addTo(drawn);
  }

  function listFor(i, key) {
    var home = latlng(D.postcodes.lat[i], D.postcodes.lon[i]);
    var points = [home];
    for (var j = 0; j < N; j++) { option(i, j, points); }
    L.marker(home, {icon: icon("gm-home", ""), title: spaced(key), zIndexOffset: 1000})
      .bindTooltip(node("span", null, spaced(key)))
      .addTo(drawn);
    map.fitBounds(L.latLngBounds(points), {padding: [30, 30], maxZoom: 14});
    var count = results.children.length;
    say("The " + count + " sixth forms and colleges nearest to " + spaced(key) +
        " by car, nearest first.", false);
  }

  function answer(raw, final) {
    var started = performance.now();
    var key = fold(raw);
    results.textContent = "";
    drawn.clearLayers();
    if (!key) {
      say("Type a postcode in " + D.name + ", for example " + EXAMPLE + ".", false);
      map.fitBounds(whole);
    } else if (index.has(key)) {
      listFor(index.get(key), key);
    } else if (outside.has(key)) {
      say(spaced(key) + " is outside " + D.name + ". This page lists options for postcodes in " +
          D.name + " only.", true);
    } else if (FULL.test(key)) {
      say("We could not find the postcode " + spaced(key) + ". Check it and try again: this page " +
          "knows the postcodes of " + D.name + ".", true);
    } else if (final) {
      say("That is not a full postcode. A full postcode looks like " + EXAMPLE + ".", true);
    } else {
      say("Keep typing: a full postcode looks like " + EXAMPLE + ".", false);
    }
    var ms = performance.now() - started;
    results.setAttribute("data-answer-ms", ms.toFixed(2));
    results.setAttribute("data-answered", key);
  }

  input.addEventListener("input", function () { answer(input.value, false); });
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    answer(input.value, true);
  });
  answer(input.value, false);
})();
