// casewright review pages: a little progressive enhancement. Everything works without it.
// - forms with data-confirm ask before they submit (approve, drop);
// - j / k move the focus to the next / previous case.
document.addEventListener("submit", function (event) {
  var form = event.target;
  var question = form.getAttribute && form.getAttribute("data-confirm");
  if (question && !window.confirm(question)) { event.preventDefault(); }
});
document.addEventListener("keydown", function (event) {
  var tag = (event.target.tagName || "").toLowerCase();
  if (event.ctrlKey || event.metaKey || event.altKey || tag === "input" || tag === "textarea" || tag === "select") { return; }
  if (event.key !== "j" && event.key !== "k") { return; }
  var cases = Array.prototype.slice.call(document.querySelectorAll("article.case"));
  if (!cases.length) { return; }
  var at = cases.indexOf(document.activeElement.closest ? document.activeElement.closest("article.case") : null);
  var next = event.key === "j" ? Math.min(at + 1, cases.length - 1) : Math.max(at - 1, 0);
  cases[next].focus();
  cases[next].scrollIntoView({ block: "start" });
});
