"""Organisations' people: users, roles, passwords and access tokens, and who may look after
an activity's record."""

__all__ = [
    "login",  # sign-in: check the password, record the attempt
    "permissions",  # the one table of who may do what (role and organisation)
    "stewardship",  # who may change an activity (provider, buyer for its territory, admin)
    "tables",  # this package's tables and the roles
    "tokens",  # access tokens
    "users",  # organisations' people, roles and passwords
]
