// Progressive enhancement only: every page works without this script.
// Buttons and links marked data-busy show that a slow action (archive verification, checkpoint) is running.
// The buyer's status form offers only the reasons the chosen status allows, and the payment fields only for 211.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("[data-busy]").forEach(function (element) {
    var start = function () {
      element.setAttribute("aria-busy", "true");
      element.classList.add("is-busy");
      element.textContent = element.getAttribute("data-busy");
    };
    if (element.tagName === "FORM") {
      element.addEventListener("submit", function () {
        var button = element.querySelector("button[type=submit]");
        if (button) { button.disabled = true; button.textContent = element.getAttribute("data-busy"); }
      });
    } else {
      element.addEventListener("click", start);
    }
  });
  var form = document.querySelector(".status-form");
  if (form) {
    var reason = form.querySelector("#reason_code");
    var payment = form.querySelector(".payment");
    var follow = function () {
      var chosen = form.querySelector("input[name=code]:checked");
      var allowed = chosen ? chosen.getAttribute("data-reasons").split(" ").filter(Boolean) : [];
      Array.prototype.forEach.call(reason.options, function (option) {
        var ok = option.value === "" || allowed.indexOf(option.value) >= 0;
        option.hidden = !ok;
        option.disabled = !ok;
        if (!ok && option.selected) { reason.value = ""; }
      });
      reason.disabled = allowed.length === 0;
      if (payment) { payment.classList.toggle("is-hidden", !chosen || chosen.value !== "211"); }
    };
    form.querySelectorAll("input[name=code]").forEach(function (radio) { radio.addEventListener("change", follow); });
    follow();
  }
});
