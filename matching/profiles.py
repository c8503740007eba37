"""Weight profiles: how much each score component counts.

One published standard profile is the default everywhere, so that bids are scored the same
way by every buyer; a buyer may set its own profile for a territory (and, with tenders, for
a tender). A profile is plain data: components' weights (any non-negative numbers, at least
one positive; they are normalised), the proximity decay scale and cut-off in metres, and
the radius assumed for an activity that gives no area served.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pandas as pd

from geo.errors import InvalidInputError

COMPONENTS = ("proximity", "need", "urgency", "theme_fit", "capacity_evidence")


@dataclass(frozen=True)
class WeightProfile:
    name: str
    version: str
    weights: Mapping[str, float] = field(default_factory=dict)
    proximity_scale_m: float = 5_000.0
    proximity_cutoff_m: float = 25_000.0
    default_service_radius_m: float = 3_000.0

    def __post_init__(self) -> None:
        unknown = set(self.weights) - set(COMPONENTS)
        if unknown:
            raise InvalidInputError(
                f"unknown score component(s) {', '.join(sorted(unknown))}; "
                f"use {', '.join(COMPONENTS)}"
            )
        negative = [c for c, w in self.weights.items() if not w >= 0]
        if negative:
            raise InvalidInputError(f"weights must be zero or more: {', '.join(negative)}")
        if not any(self.weights.get(c, 0) > 0 for c in COMPONENTS):
            raise InvalidInputError("at least one weight must be more than zero")
        for name in ("proximity_scale_m", "proximity_cutoff_m", "default_service_radius_m"):
            if not getattr(self, name) > 0:
                raise InvalidInputError(f"{name} must be more than zero")

    def weight(self, component: str) -> float:
        """The component's share of the total (weights normalised to sum to 1)."""
        total = sum(self.weights.get(c, 0.0) for c in COMPONENTS)
        return self.weights.get(component, 0.0) / total

    def with_weights(self, **weights: float) -> WeightProfile:
        """A copy with some weights changed (for what-if comparisons)."""
        return WeightProfile(
            name=self.name,
            version=self.version,
            weights={**self.weights, **weights},
            proximity_scale_m=self.proximity_scale_m,
            proximity_cutoff_m=self.proximity_cutoff_m,
            default_service_radius_m=self.default_service_radius_m,
        )


# The published standard profile. Need counts most: social value should land where need is.
STANDARD = WeightProfile(
    name="Dual Impact standard",
    version="2026.1",
    weights={
        "proximity": 0.25,
        "need": 0.30,
        "urgency": 0.20,
        "theme_fit": 0.15,
        "capacity_evidence": 0.10,
    },
)


def default_radius(territories: pd.Series, radii: Mapping[str, float]) -> pd.Series:
    """Per row, the default service radius (metres) of the territory's own profile
    (``radii``: territory code to radius, as :func:`matching.queries.default_radii` reads
    them), else the standard profile's; indexed like ``territories``."""
    return territories.map(radii).astype(float).fillna(STANDARD.default_service_radius_m)
