/**
 * The console's one script, served as `/console/assets/console.js` (the CSP allows only scripts
 * from the console's own origin: none inline). Everything works without it; it adds:
 * - a confirmation before forms marked `data-confirm` (revoke, rotate, disable, stop, rollback);
 * - copying a new key's secret (`data-copy`);
 * - submitting a form when a `data-autosubmit` select changes (the config diff);
 * - reloading live pages (`<body data-refresh>`) while the tab is visible and no form is in use;
 * - on the sign-in page, a warning when the page is not a secure context (plain http from another
 *   machine), where the browser would drop the Secure session cookie and sign-in would loop.
 */
export const CONSOLE_JS = `"use strict";
(function () {
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form && form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) event.preventDefault();
  });
  document.addEventListener("click", function (event) {
    var button = event.target && event.target.closest && event.target.closest("[data-copy]");
    if (!button) return;
    var source = document.getElementById(button.getAttribute("data-copy"));
    if (source && navigator.clipboard) {
      navigator.clipboard.writeText(source.textContent || "").then(function () { button.textContent = "Copied"; });
    }
  });
  document.addEventListener("change", function (event) {
    var el = event.target;
    if (el && el.hasAttribute && el.hasAttribute("data-autosubmit") && el.form) el.form.submit();
  });
  var insecure = document.getElementById("insecure");
  if (insecure && !window.isSecureContext) insecure.hidden = false;
  var seconds = Number(document.body.getAttribute("data-refresh"));
  if (seconds > 0) {
    setInterval(function () {
      var busy = document.activeElement && /^(INPUT|SELECT|TEXTAREA)$/.test(document.activeElement.tagName);
      var open = document.querySelector("details[open]");
      if (document.visibilityState === "visible" && !busy && !open) window.location.reload();
    }, seconds * 1000);
  }
})();
`;
