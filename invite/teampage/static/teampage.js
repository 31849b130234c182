// invitekit team page: progressive enhancement only; every feature works without it.
(function () {
  "use strict";
  // Copy buttons: <button data-copy="#input-id">.
  document.addEventListener("click", function (ev) {
    var btn = ev.target.closest("[data-copy]");
    if (!btn) return;
    var input = document.querySelector(btn.getAttribute("data-copy"));
    if (!input) return;
    input.select();
    var done = function () { btn.textContent = btn.getAttribute("data-copied") || "Copied"; };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(input.value).then(done, function () { document.execCommand("copy"); done(); });
    } else {
      document.execCommand("copy");
      done();
    }
  });
  // Confirmation for destructive forms: <form data-confirm="…">.
  document.addEventListener("submit", function (ev) {
    var form = ev.target.closest("form[data-confirm]");
    if (form && !window.confirm(form.getAttribute("data-confirm"))) ev.preventDefault();
  });
  // Select the one-time invite link so it can be copied at once.
  document.addEventListener("DOMContentLoaded", function () {
    var link = document.getElementById("ik-link");
    if (link) { link.focus(); link.select(); }
    var alert = document.querySelector(".ik-team [aria-invalid=true]");
    if (alert) alert.focus();
  });
})();
