"""Placeholder: filled in by the verification work of issue 12."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["activities"])
