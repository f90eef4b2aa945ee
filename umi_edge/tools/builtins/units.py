"""``convert_units``: unit conversion over a fixed table of common units (offline, exact SI factors).

Hand-written rather than a dependency: pint is not installed in the runtime and the table is small.
Temperatures are affine (offset) conversions; everything else is a factor to the dimension's base unit.
"""

from __future__ import annotations

from typing import Any

from umi_edge.tools.registry import tool
from umi_edge.tools.result import ToolError

# dimension -> unit -> (factor to base unit, aliases)
_TABLE: dict[str, dict[str, tuple[float, tuple[str, ...]]]] = {
    "length": {
        "m": (1.0, ("meter", "meters", "metre", "metres")),
        "km": (1000.0, ("kilometer", "kilometers", "kilometre", "kilometres")),
        "cm": (0.01, ("centimeter", "centimeters", "centimetre", "centimetres")),
        "mm": (0.001, ("millimeter", "millimeters", "millimetre", "millimetres")),
        "mi": (1609.344, ("mile", "miles")),
        "yd": (0.9144, ("yard", "yards")),
        "ft": (0.3048, ("foot", "feet")),
        "in": (0.0254, ("inch", "inches")),
        "nmi": (1852.0, ("nautical mile", "nautical miles")),
    },
    "mass": {
        "kg": (1.0, ("kilogram", "kilograms", "kilo", "kilos")),
        "g": (0.001, ("gram", "grams")),
        "mg": (1e-6, ("milligram", "milligrams")),
        "t": (1000.0, ("tonne", "tonnes", "metric ton", "metric tons")),
        "lb": (0.45359237, ("pound", "pounds", "lbs")),
        "oz": (0.028349523125, ("ounce", "ounces")),
        "st": (6.35029318, ("stone", "stones")),
    },
    "time": {
        "s": (1.0, ("sec", "second", "seconds")),
        "ms": (0.001, ("millisecond", "milliseconds")),
        "min": (60.0, ("minute", "minutes")),
        "h": (3600.0, ("hr", "hour", "hours")),
        "day": (86400.0, ("d", "days")),
        "week": (604800.0, ("wk", "weeks")),
    },
    "volume": {
        "l": (1.0, ("liter", "liters", "litre", "litres")),
        "ml": (0.001, ("milliliter", "milliliters", "millilitre", "millilitres")),
        "m3": (1000.0, ("cubic meter", "cubic meters", "m^3")),
        "gal": (3.785411784, ("gallon", "gallons", "us gallon", "us gallons")),
        "qt": (0.946352946, ("quart", "quarts")),
        "pt": (0.473176473, ("pint", "pints")),
        "cup": (0.2365882365, ("cups",)),
        "floz": (0.0295735295625, ("fl oz", "fluid ounce", "fluid ounces")),
    },
    "area": {
        "m2": (1.0, ("square meter", "square meters", "m^2", "sqm")),
        "km2": (1e6, ("square kilometer", "square kilometers", "km^2")),
        "ha": (1e4, ("hectare", "hectares")),
        "acre": (4046.8564224, ("acres",)),
        "ft2": (0.09290304, ("square foot", "square feet", "sqft", "ft^2")),
        "mi2": (2589988.110336, ("square mile", "square miles", "mi^2")),
    },
    "speed": {
        "m/s": (1.0, ("meters per second", "mps")),
        "km/h": (1 / 3.6, ("kph", "kmh", "kilometers per hour")),
        "mph": (0.44704, ("mi/h", "miles per hour")),
        "knot": (1852 / 3600, ("knots", "kn")),
    },
    "data": {
        "B": (1.0, ("byte", "bytes")),
        "KB": (1e3, ("kilobyte", "kilobytes")),
        "MB": (1e6, ("megabyte", "megabytes")),
        "GB": (1e9, ("gigabyte", "gigabytes")),
        "TB": (1e12, ("terabyte", "terabytes")),
        "KiB": (1024.0, ("kibibyte", "kibibytes")),
        "MiB": (1024.0**2, ("mebibyte", "mebibytes")),
        "GiB": (1024.0**3, ("gibibyte", "gibibytes")),
        "bit": (0.125, ("bits",)),
    },
    "energy": {
        "J": (1.0, ("joule", "joules")),
        "kJ": (1e3, ("kilojoule", "kilojoules")),
        "cal": (4.184, ("calorie", "calories")),
        "kcal": (4184.0, ("kilocalorie", "kilocalories")),
        "Wh": (3600.0, ("watt hour", "watt hours")),
        "kWh": (3.6e6, ("kilowatt hour", "kilowatt hours")),
    },
    "pressure": {
        "Pa": (1.0, ("pascal", "pascals")),
        "kPa": (1e3, ("kilopascal", "kilopascals")),
        "bar": (1e5, ("bars",)),
        "atm": (101325.0, ("atmosphere", "atmospheres")),
        "psi": (6894.757293168, ("pounds per square inch",)),
        "mmHg": (133.322387415, ("torr",)),
    },
}
_TEMPERATURE = {"C": ("celsius", "degc", "°c"), "F": ("fahrenheit", "degf", "°f"), "K": ("kelvin", "kelvins")}


def _lookup() -> dict[str, tuple[str, str]]:
    index: dict[str, tuple[str, str]] = {}
    for dim, units in _TABLE.items():
        for unit, (_, aliases) in units.items():
            for key in (unit, *aliases):
                index.setdefault(key.lower(), (dim, unit))
                index[key] = (dim, unit)
    for unit, aliases in _TEMPERATURE.items():
        for key in (unit, *aliases):
            index[key.lower()] = ("temperature", unit)
            index[key] = ("temperature", unit)
    return index


_INDEX = _lookup()


def _find(unit: str) -> tuple[str, str]:
    key = unit.strip()
    hit = _INDEX.get(key) or _INDEX.get(key.lower())
    if hit is None and key.lower().endswith("s"):
        hit = _INDEX.get(key.lower()[:-1])
    if hit is None:
        raise ToolError(f"unknown unit '{unit}'. Known units: {', '.join(known_units())}")
    return hit


def known_units() -> list[str]:
    return [u for units in _TABLE.values() for u in units] + list(_TEMPERATURE)


def _to_kelvin(value: float, unit: str) -> float:
    return {"K": value, "C": value + 273.15, "F": (value - 32) * 5 / 9 + 273.15}[unit]


def _from_kelvin(value: float, unit: str) -> float:
    return {"K": value, "C": value - 273.15, "F": (value - 273.15) * 9 / 5 + 32}[unit]


def convert(value: float, from_unit: str, to_unit: str) -> float:
    """``value`` in ``from_unit`` expressed in ``to_unit`` (rounded to 10 significant digits)."""
    dim_a, a = _find(from_unit)
    dim_b, b = _find(to_unit)
    if dim_a != dim_b:
        same = ", ".join(_TEMPERATURE if dim_a == "temperature" else _TABLE[dim_a])
        raise ToolError(f"cannot convert {dim_a} ({from_unit}) to {dim_b} ({to_unit}); {dim_a} units: {same}")
    if dim_a == "temperature":
        result = _from_kelvin(_to_kelvin(value, a), b)
    else:
        result = value * _TABLE[dim_a][a][0] / _TABLE[dim_b][b][0]
    return float(f"{result:.10g}")


def _unit_words() -> str:
    """Every unit name and alias of the tables, and words of converting (the tool's keywords)."""
    names = [key for key in _INDEX if key.isascii()] + ["convert", "conversion", "turn", "equal", "equals", "unit"]
    return " ".join(names + ["units", "degree", "degrees", "per", "square", "cubic"])


@tool(keywords=_unit_words())
def convert_units(value: float, from_unit: str, to_unit: str) -> dict[str, Any]:
    """Convert a quantity between units of length, mass, time, volume, area, speed, data size, energy, pressure
    and temperature (C, F, K).

    Args:
        value: The amount to convert.
        from_unit: Unit of the value, for example "km", "lb", "F", "GiB".
        to_unit: Unit to convert to, of the same kind.
    """
    result = convert(value, from_unit, to_unit)
    return {"value": value, "from_unit": from_unit, "to_unit": to_unit, "result": result}
