"""Organisations' people: users, roles, passwords and access tokens."""
