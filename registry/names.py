"""Organisation names and identifiers, normalised so that the same body matches itself.

Supplier files spell one company several ways ("A&E Elkins T/A Hire-It", "A & E ELKINS TA
HIRE IT LTD"); :func:`name_key` folds those together.

Identifiers go through one normaliser, whatever the file: :func:`company_number`,
:func:`charity_number` and :func:`org_id`. Org-ids follow the 360Giving / org-id.guide
convention for the four UK registers the registry keys on: ``GB-COH-`` (Companies House,
eight characters: ``6227377`` → ``GB-COH-06227377``, ``SC91075`` → ``GB-COH-SC091075``),
``GB-CHC-`` (Charity Commission for England and Wales), ``GB-SC-`` (OSCR, ``SC`` and six
digits) and ``GB-NIC-`` (Charity Commission for Northern Ireland, the number alone).
Placeholders (``0``, ``00000000``, ``N/A``, ``none``, ``-``, ``TBC``: anything without a
digit other than zero) are *no identifier*, never a key, so unrelated bodies that share one
are never merged. Org-ids of other schemes (``GB-REV-…``, funders' own ``360G-…`` ids) are
not keys either: such a body is keyed by its charity or company number, else its name.
"""

from __future__ import annotations

import re

import pandas as pd

_LEGAL_SUFFIXES = (
    r"limited|ltd|plc|llp|lp|cic|cio|inc|incorporated|co|company|uk|the|trading as|t a|ta"
)
_SUFFIX = re.compile(rf"(?:\b(?:{_LEGAL_SUFFIXES})\b\s*)+$")
_PREFIX = re.compile(r"^(?:the)\b\s*")

COMPANY_NUMBER_LENGTH = 8
_PREFIXED = re.compile(r"([A-Z]*)(\d+)")
_LABEL = re.compile(r"^(?:NO\.|NUMBER:?|NO:)\s*")
_SPREADSHEET_FLOAT = re.compile(r"^(\d+)\.0+$")
_ORG_ID = re.compile(r"GB-(COH|CHC|SC|NIC)-(.*)")
_SCOTTISH_DIGITS = 6


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


def _text(value: object) -> str:
    """Upper case, no spaces anywhere (``"SC 036 733"``), empty for a missing value."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    return re.sub(r"\s+", "", str(value)).upper()


def _is_placeholder(text: str) -> bool:
    """``0``, ``00000000``, ``N/A``, ``-``, ``TBC``...: no digit other than zero."""
    return re.search(r"[1-9]", text) is None


def _split(text: str) -> tuple[str, str] | None:
    """A register's prefix and the digits (``SC036733`` → ``SC``, ``036733``); a letter O
    typed for a zero after a two-letter prefix is read as one (``SCO22150``)."""
    match = _PREFIXED.fullmatch(text)
    if match is None:
        return None
    prefix, digits = match[1], match[2]
    while len(prefix) > 2 and prefix.endswith("O"):
        prefix, digits = prefix[:-1], "0" + digits
    return prefix, digits


def _company(value: object) -> str:
    text = _LABEL.sub("", _text(value))
    text = _SPREADSHEET_FLOAT.sub(r"\1", text)
    text = re.sub(r"[^A-Z0-9]", "", text)
    if _is_placeholder(text):
        return ""
    split = _split(text)
    if split is None or len(split[0]) > 2:
        return text  # an unusual form: kept as given (still one body's identifier)
    prefix, digits = split
    width = COMPANY_NUMBER_LENGTH - len(prefix)
    return prefix + digits.zfill(width) if len(digits) <= width else text


def _charity(value: object, register: str = "CHC") -> str:
    """``1143789``, ``SC036733`` or ``NIC100859`` (empty: no charity number), reading bare
    digits as a number of ``register`` (CHC, SC or NIC)."""
    text = _text(value)
    if text.startswith("GB-"):  # an org-id given where a number was expected
        return _number_of(org_id_of(text))
    text = re.split(r"[/,;:]", text)[0]  # "299786/1157084", "1062085/O": the first
    text = re.sub(r"[^A-Z0-9-]", "", text)
    if _is_placeholder(text):
        return ""
    split = _split(text)
    if split is not None:
        prefix, digits = split
        if prefix == "SC" or (prefix == "" and register == "SC"):
            return "SC" + digits.zfill(_SCOTTISH_DIGITS)
        if prefix in ("NI", "NIC") or (prefix == "" and register == "NIC"):
            return f"NIC{int(digits)}"
    if re.fullmatch(r"\d+(?:-\d+)?", text):  # a charity, or its linked charity ("-1")
        main, _, linked = text.partition("-")
        return str(int(main)) + (f"-{int(linked)}" if linked else "")
    return ""  # not a number of a register we key on (an HMRC reference, say)


def _charity_id(number: str) -> str:
    if number.startswith("SC"):
        return f"GB-SC-{number}"
    if number.startswith("NIC"):
        return f"GB-NIC-{number[3:]}"
    return f"GB-CHC-{number}" if number else ""


def _number_of(org: str) -> str:
    """The charity number inside a charity org-id (empty for any other)."""
    scheme, _, number = org.partition("-")[2].partition("-")
    return {"CHC": number, "SC": number, "NIC": f"NIC{number}"}.get(scheme, "")


def org_id_of(value: object) -> str:
    """A given org-id, normalised.

    Parameters
    ----------
    value
        An org-id as a file gives it (``gb-coh-6227377``, ``GB-SC-SC 036 733``).

    Returns
    -------
    str
        The normalised org-id (``GB-COH-06227377``, ``GB-SC-SC036733``); empty when it is
        not an org-id of the four registers or its number is a placeholder.
    """
    match = _ORG_ID.fullmatch(_text(value))
    if match is None:
        return ""
    scheme, number = match[1], match[2]
    if scheme == "COH":
        company = _company(number)
        return f"GB-COH-{company}" if company else ""
    return _charity_id(_charity(number, scheme))


def company_number(values: pd.Series) -> pd.Series:
    """Companies House numbers, normalised.

    Parameters
    ----------
    values
        Company numbers as files give them (``4142000``, ``sc 91075``, ``2018542.0``,
        ``N/A``).

    Returns
    -------
    pandas.Series
        Eight characters, register prefix kept (``04142000``, ``SC091075``,
        ``02018542``); empty where there is no number or only a placeholder.
    """
    return values.map(_company).astype(object)


def charity_number(values: pd.Series) -> pd.Series:
    """Charity numbers, normalised.

    Parameters
    ----------
    values
        Charity numbers as files give them (``1143789``, ``SCO 36733``, ``NIC100859``,
        ``GB-CHC-1143789``, ``0``).

    Returns
    -------
    pandas.Series
        Each as its register writes it (``1143789``, ``SC036733``, ``NIC100859``); empty
        where there is none, only a placeholder, or a number of another register.
    """
    return values.map(_charity).astype(object)


def org_id(org_identifier: pd.Series, charity: pd.Series, company: pd.Series) -> pd.Series:
    """The best org-id of each row: the one every import path keys an organisation by.

    Parameters
    ----------
    org_identifier, charity, company
        A given org-id, charity number and company number per row (same length).

    Returns
    -------
    pandas.Series
        A given org-id of the four registers, else the charity number's, else the company
        number's, all normalised; empty if none (indexed like ``org_identifier``).
    """
    given = org_identifier.map(org_id_of)
    charity_id = charity_number(charity).map(_charity_id).set_axis(given.index)
    company_id = company_id_of(company).set_axis(given.index)
    return given.where(given != "", charity_id.where(charity_id != "", company_id)).astype(object)


def company_id_of(company: pd.Series) -> pd.Series:
    """Org-ids of company numbers.

    Parameters
    ----------
    company
        Company numbers as files give them.

    Returns
    -------
    pandas.Series
        ``GB-COH-`` and the normalised number; empty where there is no number.
    """
    number = company_number(company)
    return ("GB-COH-" + number).where(number != "", "").astype(object)
