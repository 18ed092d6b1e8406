"""The `analytics:` section of the plant file: how consumption is sampled and how loops are sized."""

from __future__ import annotations

from pydantic import Field

from config.base import Section


class AnalyticsConfig(Section):
    """Sampling of each loop's consumption and the parameters of the recommended sizing."""

    sample_interval_s: float = Field(default=60.0, ge=1.0, le=3600.0)
    history_days: int = Field(default=28, ge=1, le=366)
    half_life_h: float = Field(default=4.0, gt=0, le=24 * 30)  # smoothing of the consumption rate
    safety_factor: float = Field(default=0.2, ge=0, le=5)  # α in N = ⌈D·L·(1+α)/C⌉
    service_level: float = Field(default=0.95, gt=0.5, lt=1.0)  # for the service-level safety stock
