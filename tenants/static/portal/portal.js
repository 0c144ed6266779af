// Behaviour every portal page shares, kept out of the markup: the content security policy runs no
// inline scripts or handlers (settings.CONTENT_SECURITY_POLICY).
document.addEventListener("change", function (event) {
  const field = event.target;
  if (field instanceof HTMLSelectElement && field.hasAttribute("data-submit-on-change") && field.form) {
    field.form.submit();  // the account switcher: choosing an account switches to it
  }
});
