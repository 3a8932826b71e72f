// Small progressive enhancements for the console: the avatar menu, copy buttons, dialogs.
(function () {
  "use strict";

  function toast(text) {
    var el = document.getElementById("toast");
    if (!el) return;
    el.textContent = text;
    el.hidden = false;
    clearTimeout(el._timer);
    el._timer = setTimeout(function () { el.hidden = true; }, 2000);
  }
  window.eliumToast = toast;

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-menu-button]");
    document.querySelectorAll("[data-menu-panel]").forEach(function (panel) {
      var own = button && panel.parentElement === button.parentElement;
      if (!own && !panel.contains(event.target)) {
        panel.hidden = true;
        var b = panel.parentElement.querySelector("[data-menu-button]");
        if (b) b.setAttribute("aria-expanded", "false");
      }
    });
    if (button) {
      var panel = button.parentElement.querySelector("[data-menu-panel]");
      panel.hidden = !panel.hidden;
      button.setAttribute("aria-expanded", String(!panel.hidden));
      // Opened with Enter or Space (a click with no pointer position): focus the first item.
      if (!panel.hidden && event.detail === 0) {
        var first = panel.querySelector("[role=menuitem]");
        if (first) first.focus();
      }
    }

    var copy = event.target.closest("[data-copy-target]");
    if (copy) {
      var source = document.getElementById(copy.getAttribute("data-copy-target"));
      var value = source.value !== undefined ? source.value : source.textContent;
      var done = function () {
        var label = copy.getAttribute("data-copied-label") || "Copied";
        copy.dataset.originalLabel = copy.dataset.originalLabel || copy.textContent;
        copy.textContent = label;
        toast(label);
        setTimeout(function () { copy.textContent = copy.dataset.originalLabel; }, 2000);
      };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(value).then(done, function () { fallbackCopy(source); done(); });
      } else {
        fallbackCopy(source);
        done();
      }
    }

    var opener = event.target.closest("[data-dialog-open]");
    if (opener) {
      var dialog = document.getElementById(opener.getAttribute("data-dialog-open"));
      if (dialog && dialog.showModal) dialog.showModal();
    }
    var closer = event.target.closest("[data-dialog-close]");
    if (closer) {
      var d = closer.closest("dialog");
      if (d) d.close();
    }
  });

  // Phone widths: a side menu folds behind its button (data-menu-toggle, aria-controls).
  document.addEventListener("click", function (event) {
    var toggle = event.target.closest("[data-menu-toggle]");
    if (!toggle) return;
    var menu = document.getElementById(toggle.getAttribute("aria-controls"));
    if (!menu) return;
    var open = menu.classList.toggle("is-open");
    toggle.setAttribute("aria-expanded", String(open));
    if (open) {
      var first = menu.querySelector("a, button");
      if (first) first.focus();
    }
  });

  document.addEventListener("change", function (event) {
    var box = event.target;
    if (!box.matches("[data-autosubmit]")) return;
    // A switch may ask before it turns something off (data-confirm-off) or on (data-confirm-on).
    var question = box.getAttribute(box.checked ? "data-confirm-on" : "data-confirm-off");
    if (question && !window.confirm(question)) {
      box.checked = !box.checked;
      return;
    }
    box.form.submit();
  });

  // Forms whose submit button carries data-confirm ask first.
  document.addEventListener("submit", function (event) {
    var button = event.submitter;
    var question = button && button.getAttribute("data-confirm");
    if (question && !window.confirm(question)) event.preventDefault();
  });

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("dialog[data-open-on-load]").forEach(function (d) {
      if (d.showModal) d.showModal();
    });
  });

  // The avatar menu from the keyboard (WAI-ARIA menu button): Enter/Space/ArrowDown open it on
  // the first item, ArrowUp on the last; arrows, Home and End move between items; Esc and Tab
  // close it, Esc returning focus to its button.
  function menuItems(panel) {
    return Array.prototype.slice.call(panel.querySelectorAll("[role=menuitem]"));
  }
  function openMenu(button, where) {
    var panel = button.parentElement.querySelector("[data-menu-panel]");
    panel.hidden = false;
    button.setAttribute("aria-expanded", "true");
    var items = menuItems(panel);
    if (items.length) items[where === "last" ? items.length - 1 : 0].focus();
  }
  function closeMenu(panel, refocus) {
    panel.hidden = true;
    var button = panel.parentElement.querySelector("[data-menu-button]");
    if (button) {
      button.setAttribute("aria-expanded", "false");
      if (refocus) button.focus();
    }
  }
  document.addEventListener("keydown", function (event) {
    var button = event.target.closest && event.target.closest("[data-menu-button]");
    if (button && ["ArrowDown", "ArrowUp"].indexOf(event.key) >= 0) {
      event.preventDefault();
      openMenu(button, event.key === "ArrowUp" ? "last" : "first");
      return;
    }
    var panel = event.target.closest && event.target.closest("[data-menu-panel]");
    if (panel && !panel.hidden) {
      var items = menuItems(panel);
      var at = items.indexOf(event.target);
      var next = {
        ArrowDown: (at + 1) % items.length,
        ArrowUp: (at - 1 + items.length) % items.length,
        Home: 0,
        End: items.length - 1
      }[event.key];
      if (next !== undefined) {
        event.preventDefault();
        items[next].focus();
        return;
      }
      if (event.key === "Escape") {
        event.preventDefault();
        closeMenu(panel, true);
        return;
      }
      if (event.key === "Tab") closeMenu(panel, false);
    }
    if (event.key === "Escape") {
      document.querySelectorAll("[data-menu-panel]").forEach(function (p) {
        if (!p.hidden) closeMenu(p, p.contains(document.activeElement));
      });
    }
  });

  function fallbackCopy(source) {
    if (source.select) {
      var wasReadOnly = source.readOnly;
      source.select();
      document.execCommand("copy");
      source.readOnly = wasReadOnly;
    }
  }
})();
