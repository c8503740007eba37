"""Placeholder: filled in by the delivery sites work of issue 12."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["activities"])
