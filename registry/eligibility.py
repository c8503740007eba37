"""Eligibility: is an activity a dual-impact activity, and why (rules as data).

The rules are ``registry/data/eligibility.toml`` (its header gives their sources and
method), read once at import. Every activity gets one of:

* ``eligible``, with its categories (:mod:`registry.categories`): no exclusion applies and
  its record names a programme in a category; or an exclusion applies but the record names
  a *named programme* of a category (``"food bank"``, ``"youth club"``), not only a weak word
  (``"children"``);
* ``ineligible``: an exclusion applies (a school, a museum, a church, a business...) and no
  named programme overrides it;
* ``needs_review``: nothing either way, or only weak words in a company's description
  (a pitch, not evidence of delivery).

The reason is a sentence a person can check, quoting the words that decided it and where
they were found (``"core education: 'School' in name 'Baylis Court School'; no dual-impact
programme named"``, ``"youth_diversion: 'youth club' in grant title"``).

:func:`assess` is pure; :func:`reassess` applies it to stored activities, never to one a
person decided (``eligibility_source = 'decision'``).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources

import pandas as pd
from sqlalchemy import Connection, text

from geo.errors import DataFileError
from registry.categories import SLUGS
from registry.names import charity_number
from registry.tables import ELIGIBILITY
from registry.themes import _plain

_SOURCE = resources.files("registry") / "data" / "eligibility.toml"
COLUMNS = ("eligibility", "eligibility_categories", "eligibility_reason")
# The record's texts the rules read, and how a reason names each.
_NAMES = {"name": "name", "provider_name": "provider name"}
_TEXTS = {"grant_titles": "grant title", "description": "description"}
_INPUTS = (*_NAMES, *_TEXTS, "charity_number", "org_identifier")


@dataclass(frozen=True)
class Exclusion:
    """A kind of organisation or grant that is not dual-impact work on its own.

    ``name`` patterns are read in the organisation's name, ``text`` patterns in its grant
    titles and description. ``overridable``: a named programme of a category makes the
    record eligible all the same; when it cannot (work overseas, a digital product),
    ``final`` says why in the reason.
    """

    slug: str
    label: str
    name: re.Pattern[str] | None
    text: re.Pattern[str] | None
    final: str = ""

    @property
    def overridable(self) -> bool:
        return not self.final


@dataclass(frozen=True)
class Programme:
    """A category's patterns: ``named`` programmes (strong evidence, overriding an
    exclusion) and ``words`` (weak evidence, enough only where no exclusion applies)."""

    category: str
    named: re.Pattern[str] | None
    words: re.Pattern[str] | None


def _rule(patterns: Sequence[str]) -> re.Pattern[str] | None:
    """One case-insensitive pattern matching any of ``patterns`` from a word start."""
    if not patterns:
        return None
    return re.compile(r"\b(?:" + "|".join(patterns) + ")", re.IGNORECASE)


def _load() -> tuple[
    tuple[Exclusion, ...], tuple[Programme, ...], re.Pattern[str] | None, str, str
]:
    data = tomllib.loads(_SOURCE.read_text(encoding="utf-8"))
    try:
        exclusions = tuple(
            Exclusion(
                e["slug"],
                e["label"],
                _rule(e.get("name", [])),
                _rule(e.get("text", [])),
                e.get("final", ""),
            )
            for e in data["exclusion"]
        )
        programmes = tuple(
            Programme(p["category"], _rule(p.get("named", [])), _rule(p.get("words", [])))
            for p in data["programme"]
        )
        boilerplate = _rule(data["boilerplate"])
        business_suffix = str(data["business"]["name_suffix"])
        company_name = str(data["business"]["company_name"])
    except (KeyError, TypeError, re.error) as exc:
        raise DataFileError(
            _SOURCE,
            "expected boilerplate, [business] name_suffix and company_name, [[exclusion]] "
            "(slug, label, name, text, final) and [[programme]] (category, named, words) "
            f"({exc!r})",
        ) from exc
    unknown = {p.category for p in programmes} - set(SLUGS)
    if unknown:
        raise DataFileError(_SOURCE, f"unknown categories {sorted(unknown)}; use {SLUGS}")
    return exclusions, programmes, boilerplate, business_suffix, company_name


EXCLUSIONS, PROGRAMMES, _BOILERPLATE, _BUSINESS_SUFFIX, _COMPANY_NAME = _load()
_BUSINESS = re.compile(_BUSINESS_SUFFIX, re.IGNORECASE)
_COMPANY = re.compile(_COMPANY_NAME, re.IGNORECASE)
_COMPANY_ID = re.compile(r"^GB-COH-", re.IGNORECASE)
_BUSINESS_EXCLUSION = Exclusion("business", "business", None, None)
_CHARITY_ID = re.compile(r"^GB-(?:CHC|SC|NIC)-", re.IGNORECASE)


@dataclass(frozen=True)
class _Hit:
    words: str  # the matched text, as written in the record
    where: str  # which field ("name", "grant title"...)

    def quoted(self) -> str:
        return f"'{self.words}' in {self.where}"


def _first(rule: re.Pattern[str] | None, fields: dict[str, str]) -> _Hit | None:
    """The first match of ``rule`` in ``fields`` (field label → text), in field order."""
    if rule is None:
        return None
    for where, value in fields.items():
        match = rule.search(value)
        if match:
            return _Hit(match[0].strip(" ,"), where)
    return None


def _clip(value: str, limit: int = 80) -> str:
    return value if len(value) <= limit else value[: limit - 1].rstrip() + "…"


def _assess_one(record: dict[str, str]) -> tuple[str, list[str], str]:
    names = {_NAMES[k]: record[k] for k in _NAMES if record[k]}
    texts = {_TEXTS[k]: record[k] for k in _TEXTS if record[k]}
    if _BOILERPLATE is not None:
        texts = {k: _BOILERPLATE.sub(" ", v) for k, v in texts.items()}
    everywhere = {**names, **texts}

    excluded: list[tuple[Exclusion, str]] = []
    for exclusion in EXCLUSIONS:
        hit = _first(exclusion.name, names) or _first(exclusion.text, texts)
        if hit is not None:
            whole = f" '{_clip(names[hit.where])}'" if hit.where in names else ""
            excluded.append((exclusion, f"{exclusion.label}: {hit.quoted()}{whole}"))
    if not excluded and _is_business(record):
        why = f"business: a limited company with no charity number '{_clip(record['name'])}'"
        excluded.append((_BUSINESS_EXCLUSION, why))

    named = {p.category: _first(p.named, everywhere) for p in PROGRAMMES}
    words = {p.category: _first(p.words, everywhere) for p in PROGRAMMES}
    strong = {c: h for c, h in named.items() if h is not None}
    weak = {c: h for c, h in words.items() if h is not None}

    final = [f"{why}; {e.final}" for e, why in excluded if not e.overridable]
    if final:
        return "ineligible", [], final[0]
    if excluded:
        why = "; ".join(reason for _, reason in excluded)
        if strong:
            return "eligible", _ordered(strong), f"{why}, but {_evidence(strong)}"
        return "ineligible", [], f"{why}; no dual-impact programme named"
    # Named programmes say what the activity is; weak words count only without them, and
    # not when a company has them only in its description (a pitch: "helps parents...").
    pitch = all(hit.where == "description" for hit in weak.values())
    if not strong and weak and pitch and _is_company(record):
        return (
            "needs_review",
            [],
            f"only weak evidence, in the description of a company ({_evidence(weak)})",
        )
    found = strong or weak
    if found:
        return "eligible", _ordered(found), _evidence(found)
    return (
        "needs_review",
        [],
        "no exclusion and no dual-impact programme found in "
        + (", ".join(everywhere) or "an empty record"),
    )


def _is_charity(record: dict[str, str]) -> bool:
    """A registered charity: a charity number or a charity org-id."""
    return bool(record["charity_number"]) or bool(_CHARITY_ID.match(record["org_identifier"]))


def _is_company(record: dict[str, str]) -> bool:
    """A company (a Companies House org-id, or "Ltd", "CIC"... in its name) that is not a
    registered charity."""
    return not _is_charity(record) and (
        bool(_COMPANY_ID.match(record["org_identifier"])) or bool(_COMPANY.search(record["name"]))
    )


def _is_business(record: dict[str, str]) -> bool:
    """A limited company (by its name) that is not a registered charity."""
    return bool(_BUSINESS.search(record["name"])) and not _is_charity(record)


def _ordered(hits: dict[str, _Hit]) -> list[str]:
    return [slug for slug in SLUGS if slug in hits]


def _evidence(hits: dict[str, _Hit]) -> str:
    return "; ".join(f"{slug}: {hits[slug].quoted()}" for slug in _ordered(hits))


def assess(frame: pd.DataFrame) -> pd.DataFrame:
    """Eligibility of each record, by the rules of ``registry/data/eligibility.toml``.

    Parameters
    ----------
    frame
        One row per activity with any of the columns ``name``, ``description``,
        ``grant_titles`` (``;``-separated), ``provider_name``, ``charity_number`` and
        ``org_identifier`` (the provider's org-id); a missing column or value is read as
        empty. A ``company_number`` may be given but decides nothing: most charities are
        also companies limited by guarantee, so a company number alone is no sign of a
        business (a limited company's name with no charity number or charity org-id is).

    Returns
    -------
    pandas.DataFrame
        On ``frame``'s index: ``eligibility`` (``eligible``, ``ineligible`` or
        ``needs_review``), ``eligibility_categories`` (list of category slugs, non-empty
        exactly when eligible) and ``eligibility_reason`` (a sentence quoting the evidence).
    """
    columns = {
        name: _plain(frame[name]) if name in frame else pd.Series("", index=frame.index)
        for name in _INPUTS
    }
    columns["charity_number"] = charity_number(columns["charity_number"])
    inputs = pd.DataFrame(columns, index=frame.index)
    # The provider's name adds nothing when it is the activity's own name.
    inputs["provider_name"] = inputs["provider_name"].where(
        inputs["provider_name"].str.lower() != inputs["name"].str.lower(), ""
    )
    results = [_assess_one(record) for record in inputs.to_dict("records")]
    return pd.DataFrame(results, columns=list(COLUMNS), index=frame.index)


def reassess(conn: Connection, activity_ids: Sequence[int] | None = None) -> dict[str, int]:
    """Run the rules again on stored activities and store what they say.

    Activities a person decided (``eligibility_source = 'decision'``) are never touched.

    Parameters
    ----------
    conn
        A connection in the caller's transaction.
    activity_ids
        The activities to assess; ``None``: every activity.

    Returns
    -------
    dict[str, int]
        How many of the assessed activities are now eligible, ineligible and needs_review
        (decided ones excluded).
    """
    counts = dict.fromkeys(ELIGIBILITY, 0)
    where = "a.eligibility_source = 'rules'"
    query = text(
        f"""
        SELECT a.id, a.name, a.description, a.grant_titles, o.name AS provider_name,
               o.charity_number, o.natural_key AS org_identifier
        FROM activity a LEFT JOIN organisation o ON o.id = a.provider_id
        WHERE {where} {"" if activity_ids is None else "AND a.id = ANY(CAST(:ids AS int[]))"}
        """
    )
    params: dict[str, object] = {}
    if activity_ids is not None:
        if not activity_ids:
            return counts
        params["ids"] = [int(i) for i in activity_ids]
    stored = pd.DataFrame(conn.execute(query, params).mappings().all())
    if stored.empty:
        return counts
    found = assess(stored)
    conn.execute(
        text(
            f"""
            UPDATE activity a SET eligibility = n.eligibility,
                   eligibility_categories = coalesce(n.categories, '{{}}'),
                   eligibility_reason = n.reason
            FROM (
                SELECT id, eligibility, reason,
                       string_to_array(nullif(categories, ''), ';')::varchar[] AS categories
                FROM unnest(CAST(:ids AS int[]), CAST(:eligibility AS text[]),
                            CAST(:categories AS text[]), CAST(:reasons AS text[]))
                     AS t(id, eligibility, categories, reason)
            ) n
            WHERE a.id = n.id AND {where}
              AND (a.eligibility, a.eligibility_categories, a.eligibility_reason)
                  IS DISTINCT FROM (n.eligibility, coalesce(n.categories, '{{}}'), n.reason)
            """
        ),
        {
            "ids": [int(i) for i in stored["id"]],
            "eligibility": found["eligibility"].tolist(),
            "categories": [";".join(c) for c in found["eligibility_categories"]],
            "reasons": found["eligibility_reason"].tolist(),
        },
    )
    for value, n in found["eligibility"].value_counts().items():
        counts[str(value)] = int(n)
    return counts
