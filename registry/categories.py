"""The dual-impact categories (``registry/data/categories.toml``): the kinds of locally-led
programme that make an activity eligible, each with the agencies whose frontline costs it
can avoid, the outcome themes that price that secondary impact and the unit-cost rows those
themes use. The file's header gives its sources."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources

from geo.errors import DataFileError
from registry.themes import VOCABULARY

_SOURCE = resources.files("registry") / "data" / "categories.toml"
AGENCIES = ("police", "nhs", "council", "criminal_justice")


@dataclass(frozen=True)
class Category:
    """One dual-impact category.

    Attributes
    ----------
    slug, label
        Its name in the data and for people.
    examples
        Typical programmes, in words.
    agencies
        The agencies (of :data:`AGENCIES`) whose frontline costs it can avoid.
    themes
        Outcome themes (of :data:`registry.themes.VOCABULARY`) whose value-set rows price
        its secondary impact.
    cost_ids
        The ``cost_id`` of every open value-set row of those themes (unit-cost rows).
    """

    slug: str
    label: str
    examples: str
    agencies: tuple[str, ...]
    themes: tuple[str, ...]
    cost_ids: tuple[str, ...]


def _load() -> tuple[Category, ...]:
    data = tomllib.loads(_SOURCE.read_text(encoding="utf-8"))
    try:
        categories = tuple(
            Category(
                c["slug"],
                c["label"],
                c["examples"],
                tuple(c["agencies"]),
                tuple(c["themes"]),
                tuple(c["cost_ids"]),
            )
            for c in data["category"]
        )
    except (KeyError, TypeError) as exc:
        raise DataFileError(
            _SOURCE,
            "expected [[category]] tables (slug, label, examples, agencies, themes, cost_ids) "
            f"({exc!r})",
        ) from exc
    unknown = {a for c in categories for a in c.agencies} - set(AGENCIES)
    if unknown:
        raise DataFileError(_SOURCE, f"unknown agencies {sorted(unknown)}; use {AGENCIES}")
    unknown = {t for c in categories for t in c.themes} - set(VOCABULARY)
    if unknown:
        raise DataFileError(
            _SOURCE, f"unknown themes {sorted(unknown)}; use registry/data/themes.toml's"
        )
    return categories


CATEGORIES = _load()
SLUGS: tuple[str, ...] = tuple(c.slug for c in CATEGORIES)
LABELS: dict[str, str] = {c.slug: c.label for c in CATEGORIES}
