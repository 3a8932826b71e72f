// The Azure console's small enhancements: confirmations, Test Connection notifications, live
// expression parsing, and showing only the fields that apply. Every form still works without it.
(function () {
  "use strict";

  function csrf(form) {
    var input = form.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  // Confirmations: buttons/links with data-confirm, and checkboxes wrapped in data-confirm-check.
  document.addEventListener("click", function (event) {
    var el = event.target.closest("[data-confirm]");
    if (el && !window.confirm(el.getAttribute("data-confirm"))) {
      event.preventDefault();
    }
  });
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var submitter = event.submitter;
    if (submitter && submitter.hasAttribute("data-test-connection")) return;
    form.querySelectorAll("[data-confirm-check]").forEach(function (wrap) {
      var box = wrap.querySelector("input[type=checkbox]");
      if (box && box.checked && !window.confirm(wrap.getAttribute("data-confirm-check"))) {
        event.preventDefault();
      }
    });
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

  // Notifications pane.
  var pane = document.getElementById("notifications");
  document.addEventListener("click", function (event) {
    if (!pane) return;
    if (event.target.closest("[data-notifications-toggle]")) pane.hidden = !pane.hidden;
    if (event.target.closest("[data-notifications-dismiss]")) {
      document.getElementById("notification-list").innerHTML = "";
      pane.hidden = true;
    }
  });

  function notification(n) {
    var box = document.createElement("div");
    box.className = "az-notification " + (n.running ? "az-running" : n.ok ? "az-ok" : "az-fail");
    box.setAttribute("data-testid", "notification");
    box.setAttribute("role", n.running ? "status" : "alert");
    var icon = document.createElement("div");
    icon.className = "az-notification-icon";
    icon.textContent = n.running ? "…" : n.ok ? "✔" : "!";
    var body = document.createElement("div");
    var title = document.createElement("strong");
    title.className = "az-notification-title";
    title.textContent = n.title;
    body.appendChild(title);
    var message = document.createElement("p");
    message.textContent = n.message;
    body.appendChild(message);
    if (!n.ok && !n.running) {
      [["Error code:", n.error_code, "error-code"], ["Details:", n.details, "error-details"],
       ["Request-id:", n.request_id, "request-id"]].forEach(function (row) {
        var p = document.createElement("p");
        p.className = "az-kv";
        var b = document.createElement("b");
        b.textContent = row[0];
        var span = document.createElement("span");
        span.setAttribute("data-testid", row[2]);
        span.textContent = row[1];
        p.appendChild(b);
        p.appendChild(document.createTextNode(" "));
        p.appendChild(span);
        body.appendChild(p);
      });
    }
    var when = document.createElement("p");
    when.className = "az-muted";
    when.textContent = "a few seconds ago";
    body.appendChild(when);
    box.appendChild(icon);
    box.appendChild(body);
    return box;
  }

  // Esc closes the notifications pane and gives focus back to what opened it.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape" || !pane || pane.hidden) return;
    pane.hidden = true;
    var back = pane._returnFocus || document.querySelector("[data-notifications-toggle]");
    pane._returnFocus = null;
    if (back) back.focus();
  });
  // A notification rendered by the server (scripts were off for Test Connection) takes focus.
  document.addEventListener("DOMContentLoaded", function () {
    var shown = pane && !pane.hidden && pane.querySelector("[data-testid=notification]");
    if (shown) {
      shown.setAttribute("tabindex", "-1");
      shown.focus();
    }
  });

  // Test Connection: post the credentials being edited, show the portal's notification.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-test-connection]");
    if (!button || !pane) return;
    event.preventDefault();
    var form = button.form;
    var data = new FormData();
    data.append("csrfmiddlewaretoken", csrf(form));
    ["tenant_url", "auth_method", "secret_token", "oauth_token_url", "oauth_client_id",
     "oauth_client_secret"].forEach(function (name) {
      if (form.elements[name]) data.append(name, form.elements[name].value);
    });
    var list = document.getElementById("notification-list");
    var appName = document.querySelector(".az-menu-title").textContent;
    var running = notification({running: true, title: "Testing connection to " + appName, message: "Testing…"});
    list.innerHTML = "";
    list.appendChild(running);
    pane.hidden = false;
    button.disabled = true;
    fetch(button.getAttribute("formaction"), {
      method: "POST", body: data, credentials: "same-origin",
      headers: {"X-Requested-With": "fetch"}
    }).then(function (response) { return response.json(); })
      .then(function (n) {
        var done = notification(n);
        list.replaceChild(done, running);
        // Keyboard users land on the result; Esc closes it and returns to Test Connection.
        done.setAttribute("tabindex", "-1");
        done.focus();
        pane._returnFocus = button;
      })
      .catch(function () {
        list.replaceChild(notification({ok: false, title: running.querySelector("strong").textContent,
          message: "The test could not be run.", error_code: "", details: "", request_id: ""}), running);
      })
      .finally(function () { button.disabled = false; });
  });

  // The Current status panel reloads itself (polling, Refresh): the expanders the admin
  // opened stay open.
  var keptOpen = null;
  document.addEventListener("htmx:beforeSwap", function (event) {
    var panel = document.getElementById("current-status");
    if (!panel || !panel.contains(event.detail.target)) return;
    keptOpen = [];
    panel.querySelectorAll("details[data-keep-open]").forEach(function (d) {
      if (d.open) keptOpen.push(d.getAttribute("data-keep-open"));
    });
  });
  document.addEventListener("htmx:afterSwap", function () {
    if (!keptOpen) return;
    var panel = document.getElementById("current-status");
    if (panel) {
      keptOpen.forEach(function (key) {
        var d = panel.querySelector('details[data-keep-open="' + key + '"]');
        if (d) d.open = true;
      });
    }
    keptOpen = null;
  });

  // Show only the sections that apply to the selected mode / mapping type / checkbox.
  function sync() {
    var mode = document.querySelector("select[name=mode]");
    document.querySelectorAll("[data-mode-section]").forEach(function (el) {
      el.hidden = mode && el.getAttribute("data-mode-section") !== mode.value;
    });
    // Admin Credentials: the fields of the chosen Authentication Method.
    var auth = document.querySelector("[data-auth-method] select[name=auth_method]");
    document.querySelectorAll("[data-auth-section]").forEach(function (el) {
      el.hidden = auth && el.getAttribute("data-auth-section") !== auth.value;
    });
    var type = document.querySelector("[data-attribute-form] select[name=mapping_type]");
    document.querySelectorAll("[data-type-section]").forEach(function (el) {
      el.hidden = type && el.getAttribute("data-type-section").split(" ").indexOf(type.value) < 0;
    });
    var match = document.querySelector("[data-attribute-form] select[name=match_objects]");
    var precedence = document.querySelector("[data-attribute-form] input[name=matching_precedence]");
    if (match && precedence) {
      precedence.disabled = match.value !== "yes";
      if (match.value !== "yes") precedence.value = "0";
      else if (precedence.value === "0" || precedence.value === "") precedence.value = "1";
    }
    document.querySelectorAll("[data-show-when-checked]").forEach(function (el) {
      var box = document.getElementById(el.getAttribute("data-show-when-checked"));
      el.hidden = box && !box.checked;
    });
    var scoping = document.querySelector("[data-scoping-form]");
    if (scoping) {
      var unary = scoping.getAttribute("data-unary").split("|");
      scoping.querySelectorAll("tr").forEach(function (row) {
        var op = row.querySelector("select");
        var value = row.querySelector("[data-value-box]");
        if (op && value) value.hidden = unary.indexOf(op.value) >= 0;
      });
    }
  }
  document.addEventListener("change", sync);
  document.addEventListener("DOMContentLoaded", sync);

  // Live expression parsing.
  var timer;
  function validateExpression(box) {
    var form = box.form;
    var feedback = form.querySelector("[data-testid=expression-feedback]");
    var data = new FormData();
    data.append("csrfmiddlewaretoken", csrf(form));
    data.append("expression", box.value);
    var sources = form.querySelector("select[name=source_attribute]");
    if (sources) {
      Array.prototype.forEach.call(sources.options, function (option) {
        if (option.value) data.append("known", option.value);
      });
    }
    fetch(form.getAttribute("data-validate-url"), {method: "POST", body: data, credentials: "same-origin"})
      .then(function (response) { return response.json(); })
      .then(function (result) {
        feedback.textContent = result.message;
        feedback.className = "az-parse " + (result.ok ? "az-ok" : "az-fail");
      });
  }
  document.addEventListener("input", function (event) {
    if (event.target.matches("[data-attribute-form] textarea[name=expression]")) {
      clearTimeout(timer);
      var box = event.target;
      timer = setTimeout(function () { validateExpression(box); }, 250);
    }
  });
  document.addEventListener("DOMContentLoaded", function () {
    var box = document.querySelector("[data-attribute-form] textarea[name=expression]");
    if (box && box.value) validateExpression(box);
  });
})();
