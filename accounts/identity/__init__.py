"""Staff sign-in through a tenant's identity providers (OpenID Connect, SAML 2.0), the tenant's
sign-in policy (SSO only, break-glass accounts, a required second factor), and the link of
each provider's subject to a staff user (accounts.identity.provisioning)."""
