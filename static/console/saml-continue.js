/* The SAML sign-in's continue page: post the identity provider's answer on at once (without
   JavaScript, the page's Continue button does it). See console/auth/saml.py. */
(function () {
  "use strict";
  var form = document.querySelector("form[data-saml-continue]");
  if (form) form.submit();
})();
