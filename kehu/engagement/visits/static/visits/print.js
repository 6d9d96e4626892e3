/* The printable visit report: the Print button opens the browser's print dialog (A4, see report.css). */
(function () {
  "use strict";
  document.addEventListener("click", function (e) {
    if (e.target.closest("[data-print]")) { window.print(); }
  });
})();
