"""The matching domain's table: a buyer's weight profile for a territory (the standard
profile, :data:`matching.profiles.STANDARD`, is not stored). Distances in metres."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from geo.metadata import key, metadata, required, timestamp

weight_profile = sa.Table(
    "weight_profile",
    metadata,
    key(),
    sa.Column("territory_code", sa.String(9), nullable=False),
    *required("name", "version"),
    *required("weights", type_=JSONB),
    *required(
        "proximity_scale_m", "proximity_cutoff_m", "default_service_radius_m", type_=sa.Float
    ),
    timestamp("updated_at"),
    sa.UniqueConstraint("territory_code", name="uq_weight_profile_territory"),
)
