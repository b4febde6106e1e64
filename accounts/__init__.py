"""Staff accounts: users (one table per schema), roles made of permission strings, API tokens.

The tables exist in every tenant schema (a tenant's staff) and in the public schema
(platform admins), so a token issued on one tenant cannot exist on another.
"""
