/* Checklists a reader can tick (pymdownx.tasklist renders their boxes disabled). Each tick is
   kept in this browser's localStorage under the page's path and the item's own text, so
   reordering a list keeps its ticks; every list gets a 清空勾选 button under it. Without
   localStorage (private mode) the boxes still tick, for this visit only. */
(function () {
  "use strict";
  var PREFIX = "qunbook:tick:";
  var page = location.pathname.replace(/index\.html$/, "");
  var store = null;
  try {
    store = window.localStorage;
    store.setItem(PREFIX, "1");
    store.removeItem(PREFIX);
  } catch (e) {
    store = null;
  }

  function remember(key, ticked) {
    try {
      if (ticked) store.setItem(key, "1");
      else store.removeItem(key);
    } catch (e) {
      /* not kept: full or unavailable */
    }
  }

  function ticked(key) {
    try {
      return store.getItem(key) === "1";
    } catch (e) {
      return false;
    }
  }

  // The item's words, without its box or any list nested in it.
  function itemText(item) {
    var text = "";
    Array.prototype.forEach.call(item.childNodes, function (node) {
      if (node.nodeType === 3) text += node.nodeValue;
      else if (node.nodeType === 1 && !/^(LABEL|UL|OL)$/.test(node.tagName)) {
        text += node.textContent;
      }
    });
    return text.replace(/\s+/g, " ").trim();
  }

  // Each box belongs to the outermost list of tasks it is in: a list nested under a task
  // belongs to its parent's, and that list gets the one 清空勾选 button.
  function listOf(box) {
    var list = box.closest("ul, ol");
    var parent = list.parentElement.closest(".task-list-item");
    while (parent) {
      list = parent.closest("ul, ol");
      parent = list.parentElement.closest(".task-list-item");
    }
    return list;
  }

  var lists = [];
  var boxes = [];
  var seen = {};
  var all = document.querySelectorAll(".md-typeset .task-list-control > input[type=checkbox]");
  Array.prototype.forEach.call(all, function (box) {
    var text = itemText(box.closest(".task-list-item"));
    var key = PREFIX + page + "\n" + text;
    seen[key] = (seen[key] || 0) + 1;
    if (seen[key] > 1) key += "\n" + seen[key]; // the same words twice on one page
    box.disabled = false;
    box.setAttribute("aria-label", text);
    box.checked = ticked(key);
    box.addEventListener("change", function () {
      remember(key, box.checked);
    });
    var list = listOf(box);
    var at = lists.indexOf(list);
    if (at < 0) {
      lists.push(list);
      boxes.push([]);
      at = lists.length - 1;
    }
    boxes[at].push({ box: box, key: key });
  });

  lists.forEach(function (list, at) {
    var clear = document.createElement("button");
    clear.type = "button";
    clear.className = "md-button qb-clear";
    clear.textContent = "清空勾选";
    clear.addEventListener("click", function () {
      boxes[at].forEach(function (item) {
        item.box.checked = false;
        remember(item.key, false);
      });
    });
    list.parentNode.insertBefore(clear, list.nextSibling);
  });
})();
