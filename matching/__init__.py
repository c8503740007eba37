"""Matching engine: scoring, recommendations, allocation and impact (see issue 4)."""
