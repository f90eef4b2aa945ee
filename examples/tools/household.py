"""Four household tools that no training data names, for ``--tools`` (and the slow test of the default bundle on
tools it never saw, tests/test_unseen_tools.py).

    umi-edge run "My car uses 6.5 litres per 100 km. How much fuel do I need for 340 km?" \\
        --tools examples/tools/household.py
"""

from __future__ import annotations

from umi_edge.tools.registry import tool


@tool(effect="read")
def trip_fuel_litres(distance_km: float, litres_per_100km: float) -> dict:
    """Fuel a car needs for a trip, from the distance and the car's consumption.

    Args:
        distance_km: Length of the trip in kilometres.
        litres_per_100km: The car's consumption in litres per 100 km.
    """
    return {"litres": round(distance_km * litres_per_100km / 100, 3)}


@tool(effect="read")
def paint_tins_needed(wall_area_m2: float, coats: int = 2) -> dict:
    """How many 2.5-litre tins of wall paint a room needs (one litre covers 10 square metres per coat).

    Args:
        wall_area_m2: Area of the walls to paint, in square metres.
        coats: Number of coats of paint.
    """
    litres = wall_area_m2 * coats / 10
    return {"litres": round(litres, 2), "tins": int(-(-litres // 2.5))}


@tool(effect="read")
def salary_over_months(monthly_pay: float, months: float) -> dict:
    """Total pay earned over a number of months at a fixed monthly pay.

    Args:
        monthly_pay: Pay per month.
        months: Number of months (may be fractional, e.g. 30 for two and a half years).
    """
    return {"total": round(monthly_pay * months, 2)}


@tool(effect="read")
def plant_watering_schedule(plant: str, pot_litres: float) -> dict:
    """How often and how much to water a house plant of a given kind in a pot of a given size.

    Args:
        plant: Kind of plant, e.g. "cactus", "fern", "basil".
        pot_litres: Size of the pot in litres.
    """
    every = {"cactus": 14, "succulent": 10, "fern": 3, "basil": 2}.get(plant.lower(), 7)
    return {"every_days": every, "millilitres": round(pot_litres * 100, 1)}
