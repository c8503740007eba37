"""Who may do what: one table of every write the platform offers (and the private reads
that go with them), the roles that may do each, and the organisation rule each role must
meet.

Every domain command checks it (:func:`require`) before it changes anything: the SPO
lifecycle (:mod:`procurement.spos`, :mod:`procurement.delivery`), tenders, activities
(:mod:`accounts.stewardship`, :mod:`procurement.activity_changes`), the verification
ladder and eligibility decisions (:mod:`accounts.verification`) and the operator's
accounts work. Territory rules look at the organisation's kind as well as its territories:
a buyer buys for them, a community team works in them. The API's routers hold no rules,
and the tests enumerate this table over HTTP (``tests/api/test_roles.py``): every action,
every role, own and other organisation.

Analysts are read-only everywhere: no write names them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from accounts.users import User
from geo.errors import PermissionDeniedError


class Action(StrEnum):
    """Everything the table rules on; each value completes "only ... can ___"."""

    OPEN_TENDER = "open a tender"
    DRAFT_SPO = "draft an SPO"
    EDIT_SPO = "change an SPO's commitments"
    SUBMIT_SPO = "submit an SPO"
    WITHDRAW_SPO = "withdraw an SPO"
    SCORE_SPO = "score an SPO"
    AWARD_SPO = "award an SPO"
    COMPLETE_SPO = "record an SPO's contract as complete"
    VARY_COMMITMENT = "vary an awarded commitment"
    CLAIM_DELIVERY = "claim delivery against a commitment"
    RESPOND_TO_DELIVERY = "confirm or dispute a delivery"
    SIGN_OFF_DELIVERY = "sign off a delivery"
    REGISTER_ACTIVITY = "register an activity"
    EDIT_ACTIVITY = "change an activity's figures, status or themes"
    ADD_EVIDENCE = "add evidence to an activity"
    SET_FUNDING_GAP = "change an activity's funding gap"
    RAISE_SAFEGUARDING = "flag an activity as safeguarded"
    CLEAR_SAFEGUARDING = "clear an activity's safeguarding flag"
    READ_ACTIVITY_HISTORY = "read who changed an activity"
    CLAIM_ACTIVITY = "claim a listed activity for their organisation"
    APPROVE_CLAIM = "approve a claim that no identifier proves"
    VERIFY_ACTIVITY = "verify an activity"
    MARK_LAPSED = "mark an activity lapsed"
    DECIDE_ELIGIBILITY = "decide whether an activity is a dual-impact activity"
    EDIT_DELIVERY_SITES = "change where an activity is delivered"
    ALLOW_INELIGIBLE = "let an SPO commit to an activity not found eligible"
    ADD_ORGANISATION = "add an organisation"
    ADD_USER = "add a user"


class Scope(StrEnum):
    """The organisation rule a role must meet, on top of having the role."""

    ANY = "any"  # the role is enough
    OWN_SUPPLIER = "own supplier"  # works for the SPO's supplier
    TENDER_BUYER = "tender's buyer"  # works for the tender's buyer
    ACTIVITY_PROVIDER = "activity's provider"  # works for the activity's own provider
    TERRITORY_BUYER = "territory's buyer"  # works for a buyer of the territory concerned
    TERRITORY_TEAM = "territory's community team"  # works in the territory's community team


@dataclass(frozen=True)
class Grant:
    """A role's permission for an action: under which organisation rules (any one of
    ``scopes`` will do) and whether it is an *override*, allowed only with a reason for
    the record."""

    scopes: frozenset[Scope]
    override: bool = False


def _grant(*scopes: Scope, override: bool = False) -> Grant:
    return Grant(frozenset(scopes), override)


_ANYWHERE = _grant(Scope.ANY)
_OWN_SUPPLIER = {"supplier": _grant(Scope.OWN_SUPPLIER)}
_TENDER_LEAD = {"buyer_lead": _grant(Scope.TENDER_BUYER)}
_TERRITORY_STAFF = {
    "buyer_lead": _grant(Scope.TERRITORY_BUYER),
    "buyer_evaluator": _grant(Scope.TERRITORY_BUYER),
}
# Who looks after an activity's record: its own provider, a buyer's staff for its
# territory, the operator's admins.
_STEWARDS = {"provider": _grant(Scope.ACTIVITY_PROVIDER), **_TERRITORY_STAFF, "admin": _ANYWHERE}
_OPERATOR = {"admin": _ANYWHERE}
# The community team of the activity's territory, and the operator's admins.
_COMMUNITY = {"community": _grant(Scope.TERRITORY_TEAM), "admin": _ANYWHERE}

PERMISSIONS: Mapping[Action, Mapping[str, Grant]] = {
    Action.OPEN_TENDER: {"buyer_lead": _grant(Scope.TERRITORY_BUYER)},
    Action.DRAFT_SPO: {"supplier": _ANYWHERE},
    Action.EDIT_SPO: _OWN_SUPPLIER,
    Action.SUBMIT_SPO: _OWN_SUPPLIER,
    Action.WITHDRAW_SPO: _OWN_SUPPLIER,
    Action.SCORE_SPO: {
        "buyer_lead": _grant(Scope.TENDER_BUYER),
        "buyer_evaluator": _grant(Scope.TENDER_BUYER),
    },
    Action.AWARD_SPO: _TENDER_LEAD,
    Action.COMPLETE_SPO: _TENDER_LEAD,
    Action.VARY_COMMITMENT: _TENDER_LEAD,
    Action.CLAIM_DELIVERY: _OWN_SUPPLIER,
    Action.RESPOND_TO_DELIVERY: {"provider": _grant(Scope.ACTIVITY_PROVIDER)},
    Action.SIGN_OFF_DELIVERY: _TENDER_LEAD,
    # A provider registers its own activities; buyers' staff connect in their territories'.
    Action.REGISTER_ACTIVITY: {"provider": _ANYWHERE, **_TERRITORY_STAFF, **_COMMUNITY},
    Action.EDIT_ACTIVITY: _STEWARDS,
    Action.ADD_EVIDENCE: {**_STEWARDS, **_COMMUNITY},
    # The gap is a capacity-ledger input: its provider's to say; a buyer lead of its
    # territory may override it, with a reason, re-checked against the ledger.
    Action.SET_FUNDING_GAP: {
        "provider": _grant(Scope.ACTIVITY_PROVIDER),
        "buyer_lead": _grant(Scope.TERRITORY_BUYER, override=True),
    },
    # Anyone looking after the record may make a place safer; only its provider may
    # make it less safe.
    Action.RAISE_SAFEGUARDING: _STEWARDS,
    Action.CLEAR_SAFEGUARDING: {"provider": _grant(Scope.ACTIVITY_PROVIDER)},
    # The territory's community team reads it too: it verifies and decides on the record.
    Action.READ_ACTIVITY_HISTORY: {
        **_STEWARDS,
        **_COMMUNITY,
        "analyst": _grant(Scope.ACTIVITY_PROVIDER, Scope.TERRITORY_BUYER, Scope.TERRITORY_TEAM),
    },
    # A provider takes over a listed record (proved by a matching charity or company
    # number, else approved by the operator); the territory's community team verifies,
    # decides eligibility and marks records lapsed.
    Action.CLAIM_ACTIVITY: {"provider": _ANYWHERE},
    Action.APPROVE_CLAIM: _OPERATOR,
    Action.VERIFY_ACTIVITY: _COMMUNITY,
    Action.MARK_LAPSED: _COMMUNITY,
    Action.DECIDE_ELIGIBILITY: _COMMUNITY,
    Action.EDIT_DELIVERY_SITES: {**_STEWARDS, **_COMMUNITY},
    # The tender's buyer lead may let its SPOs commit to an activity the register does not
    # find eligible, with a reason for the record.
    Action.ALLOW_INELIGIBLE: {"buyer_lead": _grant(Scope.TENDER_BUYER, override=True)},
    Action.ADD_ORGANISATION: _OPERATOR,
    Action.ADD_USER: _OPERATOR,
}


@dataclass(frozen=True)
class Target:
    """What an action is about, as far as the organisation rules look: the SPO's supplier,
    the tender's buyer, the activity's provider (organisation ids) and the territory (the
    activity's or the tender's code). Leave out what does not apply."""

    supplier_id: int | None = None
    buyer_id: int | None = None
    provider_id: int | None = None
    territory: str | None = None


def _meets(user: User, scope: Scope, target: Target) -> bool:
    """Whether ``user``'s organisation meets the organisation rule ``scope`` on ``target``."""
    own = user.organisation_id
    return {
        Scope.ANY: True,
        Scope.OWN_SUPPLIER: target.supplier_id == own,
        Scope.TENDER_BUYER: target.buyer_id == own,
        Scope.ACTIVITY_PROVIDER: target.provider_id == own,
        Scope.TERRITORY_BUYER: user.organisation_kind == "buyer"
        and target.territory in user.territories,
        Scope.TERRITORY_TEAM: user.organisation_kind == "community"
        and target.territory in user.territories,
    }[scope]


def _granted(user: User, action: Action, target: Target = Target()) -> Grant | None:
    """The grant that lets ``user`` do ``action`` on ``target``, or ``None``."""
    grant = PERMISSIONS[action].get(user.role)
    if grant is None or not any(_meets(user, scope, target) for scope in grant.scopes):
        return None
    return grant


def require(user: User, action: Action, target: Target = Target()) -> Grant:
    """Refuse ``action`` unless :data:`PERMISSIONS` lets ``user`` do it on ``target``.

    Parameters
    ----------
    user
        Who is asking (their role, organisation and its territories).
    action
        What they want to do.
    target
        The organisations and territory the action is about.

    Returns
    -------
    Grant
        The permission used (an ``override`` needs a reason, which the caller asks for).

    Raises
    ------
    PermissionDeniedError
        The user's role may not do this, or their organisation does not meet the rule;
        the message says who may, and why this user may not.
    """
    grant = _granted(user, action, target)
    if grant is not None:
        return grant
    who = _who(action, target)
    mine = PERMISSIONS[action].get(user.role)
    if mine is None:
        role = _role(user.role)
        raise PermissionDeniedError(
            f"only {who} can {action} (you are {_article(role)} {role} at {user.organisation_name})"
        )
    why = " and ".join(_why_not(user, scope, target) for scope in sorted(mine.scopes))
    raise PermissionDeniedError(f"only {who} can {action}: {why}")


def require_role(user: User, action: Action) -> None:
    """Refuse at once a user whose role may never do ``action``, before the target (and
    so the organisation rule) is known; :func:`require` still has the last word."""
    if user.role not in PERMISSIONS[action]:
        require(user, action)


def _role(role: str) -> str:
    return role.replace("_", " ")


def _article(phrase: str) -> str:
    return "an" if phrase[0] in "aeiou" else "a"


# A role under the rule that matches its own kind of organisation, as a reader says it.
_OWN = {
    ("supplier", Scope.OWN_SUPPLIER): "the SPO's own supplier",
    ("provider", Scope.ACTIVITY_PROVIDER): "the activity's own provider",
}


def _phrase(roles: list[str], scope: Scope, target: Target) -> str:
    """Roles under one organisation rule: "a buyer lead or buyer evaluator buying for
    territory E23000029", "the activity's own provider"."""
    if len(roles) == 1 and (roles[0], scope) in _OWN:
        return _OWN[(roles[0], scope)]
    where = {
        Scope.ANY: "",
        Scope.OWN_SUPPLIER: " at the SPO's own supplier",
        Scope.TENDER_BUYER: " at the tender's buyer",
        Scope.ACTIVITY_PROVIDER: " at the activity's own provider",
        Scope.TERRITORY_BUYER: f" buying for territory {target.territory or 'concerned'}",
        Scope.TERRITORY_TEAM: f" working in territory {target.territory or 'concerned'}",
    }[scope]
    named = " or ".join(_role(role) for role in roles)
    return f"{_article(named)} {named}{where}"


def _who(action: Action, target: Target) -> str:
    """Everyone the table lets do ``action``, roles with the same grant said together:
    "the activity's own provider, a buyer lead or buyer evaluator buying for territory
    E23000029 or an admin"."""
    groups: dict[Grant, list[str]] = {}
    for role, grant in PERMISSIONS[action].items():
        groups.setdefault(grant, []).append(role)
    phrases = [
        " or ".join(_phrase(roles, scope, target) for scope in sorted(grant.scopes))
        + (" (as an override, with a reason)" if grant.override else "")
        for grant, roles in groups.items()
    ]
    return phrases[0] if len(phrases) == 1 else ", ".join(phrases[:-1]) + " or " + phrases[-1]


def _why_not(user: User, scope: Scope, target: Target) -> str:
    """Why ``user``'s organisation does not meet ``scope`` on ``target``."""
    org = user.organisation_name
    if scope is Scope.TERRITORY_BUYER:
        if user.organisation_kind != "buyer":
            return f"{org} is not a buyer"
        buys = ", ".join(user.territories) or "no territory"
        return f"{org} does not buy for territory {target.territory} (it buys for {buys})"
    if scope is Scope.TERRITORY_TEAM:
        if user.organisation_kind != "community":
            return f"{org} is not a community team"
        works = ", ".join(user.territories) or "no territory"
        return f"{org} does not work in territory {target.territory} (it works in {works})"
    whose = {
        Scope.OWN_SUPPLIER: "the SPO's supplier",
        Scope.TENDER_BUYER: "the tender's buyer",
        Scope.ACTIVITY_PROVIDER: "the activity's own provider",
    }
    return f"{org} is not {whose[scope]}"
