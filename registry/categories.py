"""The dual-impact categories (``registry/data/categories.toml``): the kinds of locally-led
programme that make an activity eligible, each with the agencies whose frontline costs it
can avoid. The file's header gives its sources."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources

from geo.errors import DataFileError

_SOURCE = resources.files("registry") / "data" / "categories.toml"
AGENCIES = ("police", "nhs", "council", "criminal_justice")


@dataclass(frozen=True)
class Category:
    """One dual-impact category: its slug, its label for people, typical examples and the
    agencies (of :data:`AGENCIES`) whose frontline costs it can avoid."""

    slug: str
    label: str
    examples: str
    agencies: tuple[str, ...]


def _load() -> tuple[Category, ...]:
    data = tomllib.loads(_SOURCE.read_text(encoding="utf-8"))
    try:
        categories = tuple(
            Category(c["slug"], c["label"], c["examples"], tuple(c["agencies"]))
            for c in data["category"]
        )
    except (KeyError, TypeError) as exc:
        raise DataFileError(
            _SOURCE, f"expected [[category]] tables (slug, label, examples, agencies) ({exc!r})"
        ) from exc
    unknown = {a for c in categories for a in c.agencies} - set(AGENCIES)
    if unknown:
        raise DataFileError(_SOURCE, f"unknown agencies {sorted(unknown)}; use {AGENCIES}")
    return categories


CATEGORIES = _load()
SLUGS: tuple[str, ...] = tuple(c.slug for c in CATEGORIES)
LABELS: dict[str, str] = {c.slug: c.label for c in CATEGORIES}
