// attt: behaviour without inline scripts (the Content-Security-Policy forbids them).
// Loaded without `defer` so that the class below is on <html> before the page is drawn: app.css shows the
// no-script fallbacks (open tab panes, the profile link instead of the user menu) only while it is missing.
document.documentElement.classList.add("js");

document.addEventListener("DOMContentLoaded", () => {
  // The language form submits itself on change; its button stays for keyboard and no-script users.
  document.querySelectorAll("form[data-autosubmit] select").forEach((select) => {
    select.addEventListener("change", () => select.form.submit());
  });
});
