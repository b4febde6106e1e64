"""Test support shared by every app's tests: tenant fixtures, API clients, factories."""
