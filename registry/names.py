"""Organisation names and identifiers, normalised so that the same body matches itself.

Supplier files spell one company several ways ("A&E Elkins T/A Hire-It", "A & E ELKINS TA
HIRE IT LTD"); :func:`name_key` folds those together. Org-ids follow the 360Giving /
org-id.guide convention: ``GB-CHC-`` (Charity Commission for England and Wales),
``GB-SC-`` (OSCR), ``GB-NIC-`` (Charity Commission for Northern Ireland), ``GB-COH-``
(Companies House, eight characters).
"""

from __future__ import annotations

import re

import pandas as pd

_LEGAL_SUFFIXES = (
    r"limited|ltd|plc|llp|lp|cic|cio|inc|incorporated|co|company|uk|the|trading as|t a|ta"
)
_SUFFIX = re.compile(rf"(?:\b(?:{_LEGAL_SUFFIXES})\b\s*)+$")
_PREFIX = re.compile(r"^(?:the)\b\s*")


def name_key(names: pd.Series) -> pd.Series:
    """Lower case, ``&`` → ``and``, punctuation dropped, legal suffixes and "the" removed.

    ``"The A&E Elkins Ltd."`` and ``"A and E ELKINS LIMITED"`` both give ``"a and e elkins"``.
    """
    key = (
        names.fillna("")
        .astype(str)
        .str.lower()
        .str.replace("&", " and ", regex=False)
        .str.replace(r"\bt/a\b", " ta ", regex=True)
        .str.replace(r"[^a-z0-9]+", " ", regex=True)
        .str.strip()
    )
    key = key.str.replace(_PREFIX, "", regex=True)
    stripped = key.str.replace(_SUFFIX, "", regex=True).str.strip()
    # A name that is nothing but suffixes ("The Company Ltd") keeps its full form.
    return stripped.where(stripped != "", key)


def company_number(values: pd.Series) -> pd.Series:
    """Companies House numbers as eight characters (``4142000`` → ``04142000``)."""
    text = values.fillna("").astype(str).str.upper().str.replace(r"[^A-Z0-9]", "", regex=True)
    digits = text.str.fullmatch(r"\d{1,8}")
    return text.where(~digits, text.str.zfill(8))


def org_id(org_identifier: pd.Series, charity_number: pd.Series, company: pd.Series) -> pd.Series:
    """The best org-id available: a given one, else charity, else company; empty if none."""
    given = org_identifier.fillna("").astype(str).str.strip().str.upper()
    charity = charity_number.fillna("").astype(str).str.replace(r"\s", "", regex=True)
    charity_id = ("GB-CHC-" + charity).where(charity.str.fullmatch(r"\d{6,7}"), "")
    charity_id = charity_id.where(~charity.str.upper().str.startswith("SC"), "GB-SC-" + charity)
    company_id = ("GB-COH-" + company_number(company)).where(company.fillna("") != "", "")
    return given.where(given != "", charity_id.where(charity_id != "", company_id))
