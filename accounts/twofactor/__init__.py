"""The second factor of password sign-ins: TOTP (RFC 6238) authenticator apps and recovery
codes, kept by django-otp in the tenant's schema (a TOTPDevice and a StaticDevice per user).

`selectors` says what a password sign-in needs after the password (a code, or enrolment
first when the tenant's policy requires a second factor) and a user's state; `services`
enrols, confirms, verifies, regenerates recovery codes, turns it off and resets it, every
change audited. Wrong codes count against the same limits as wrong passwords
(accounts.signin). Sign-ins through an identity provider never meet any of this: the
provider asks for its own second factor."""
