"""Money values of what suppliers give besides money, in pounds.

Volunteer hours are valued at :data:`HOUR_VALUE_GBP` an hour; an in-kind commitment is
already stated as its value in pounds. Allocation, SPO commitments, the register and the
maps all value hours with this one figure.
"""

from __future__ import annotations

# The UK National Living Wage from April 2025 (£12.21/hour, 21 and over), used as a
# conservative, explicit valuation; replace with your own.
HOUR_VALUE_GBP = 12.21
