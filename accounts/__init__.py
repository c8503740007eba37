"""Organisations' people: users, roles, passwords and access tokens, and who may look after
an activity's record."""

__all__ = [
    "login",  # sign-in: check the password, record the attempt
    "permissions",  # the one table of who may do what (role and organisation)
    "sites",  # where an activity is delivered: delivery sites, permission-checked and audited
    "stewardship",  # who may change an activity (provider, buyer for its territory, admin)
    "tables",  # this package's tables and the roles
    "tokens",  # access tokens
    "users",  # organisations' people, roles and passwords
    "verification",  # the verification ladder: claim, verify, lapse; eligibility decisions
]
