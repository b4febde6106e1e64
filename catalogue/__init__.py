"""The catalogue: programmes and the case studies assigned to them (SPEC §3, §7.6).

The bottom of the domain: students enrol in programmes and attempts are made at case studies,
so both depend on this app, and it depends on neither."""
