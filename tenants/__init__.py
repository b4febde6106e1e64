"""Tenants: the public-schema registry of universities and the host names they answer on."""
