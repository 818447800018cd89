(function () {
  "use strict";
  function cellValue(cell) {
    var raw = cell.getAttribute("data-value");
    if (raw !== null && raw !== "" && !isNaN(parseFloat(raw))) return parseFloat(raw);
    var text = cell.textContent.trim();
    var num = parseFloat(text);
    return isNaN(num) ? text.toLowerCase() : num;
  }
  function sortBy(table, index, th) {
    var body = table.tBodies[0];
    if (!body) return;
    var desc = !th.classList.contains("sorted-desc");
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (c) { c.classList.remove("sorted-asc", "sorted-desc"); });
    th.classList.add(desc ? "sorted-desc" : "sorted-asc");
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = cellValue(a.cells[index]), y = cellValue(b.cells[index]);
      if (typeof x !== typeof y) return typeof x === "number" ? -1 : 1;
      return (x < y ? -1 : x > y ? 1 : 0) * (desc ? -1 : 1);
    });
    rows.forEach(function (r) { body.appendChild(r); });
  }
  document.querySelectorAll("table.sortable").forEach(function (table) {
    if (!table.tHead) return;
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, i) {
      th.addEventListener("click", function () { sortBy(table, i, th); });
    });
  });
  var toggles = document.querySelectorAll("input.toggle-baselines");
  toggles.forEach(function (toggle) {
    toggle.addEventListener("change", function () {
      document.body.classList.toggle("hide-baselines", !toggle.checked);
      toggles.forEach(function (other) { other.checked = toggle.checked; });
    });
  });
  function setAll(open) {
    document.querySelectorAll("details.section").forEach(function (d) { d.open = open; });
  }
  var expand = document.getElementById("expand-all"), collapse = document.getElementById("collapse-all");
  if (expand) expand.addEventListener("click", function () { setAll(true); });
  if (collapse) collapse.addEventListener("click", function () { setAll(false); });
  // a link to a section (contents, summary table, or the address's #fragment) opens it
  function openTarget(id) {
    var target = id ? document.getElementById(id) : null;
    if (target && target.tagName === "DETAILS") target.open = true;
  }
  document.querySelectorAll("a[href^='#']").forEach(function (link) {
    link.addEventListener("click", function () { openTarget(link.getAttribute("href").slice(1)); });
  });
  if (location.hash) openTarget(decodeURIComponent(location.hash.slice(1)));
  // aligned galleries: filter rows by category and by pass/fail disagreement between runs
  document.querySelectorAll("div.aligned").forEach(function (box) {
    var cat = box.querySelector("select.f-cat"), dis = box.querySelector("input.f-disagree"), shown = box.querySelector(".shown");
    function apply() {
      var count = 0;
      box.querySelectorAll("tr.aligned-row").forEach(function (row) {
        var keep = (!cat.value || row.getAttribute("data-category") === cat.value) &&
          (!dis.checked || row.getAttribute("data-disagree") === "1");
        row.hidden = !keep;
        if (keep) count += 1;
      });
      shown.textContent = count + " shown";
    }
    cat.addEventListener("change", apply);
    dis.addEventListener("change", apply);
  });
})();
