// Progressive enhancement only: every page works without this script.
// Buttons and links marked data-busy show that a slow action (archive verification, checkpoint) is running.
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
});
