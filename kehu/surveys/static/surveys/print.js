/* The printable report's print button (no inline handlers under the CSP). */
document.addEventListener("click", function (e) {
  if (e.target.closest("[data-print]")) window.print();
});
