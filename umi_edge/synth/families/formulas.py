"""Tools the task brings itself (issue 17): everyday formulas made into new tools, so the roles learn to read a doc.

Each task of the ``formula`` family builds one small tool from :data:`FORMULAS`, with one of several names, one of
several parameter names and a doc, plus a few other formula tools as distractors. The tool is a real Python function
run by the registry like any other, so every observation is its real output. Three kinds of task:

- one call: the request gives the values, the caller copies them into the new tool's parameters, the answer quotes
  the observation;
- two calls to the same tool (the request asks for two values of one parameter), so the planner learns to go on
  after a first call and the answer holds both results (BFCL's *parallel* shape, with real observations);
- no fitting tool: the request's own tool is left out and only unrelated formula tools are offered, so the planner
  gives up (the same requests appear with and without their tool).

None of these formulas is a tool of ``examples/tools/household.py`` (fuel for a trip, paint tins, pay over months,
watering plants): that file tests tools no training data names. Hand-written: the catalogue is our own data.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from umi_edge.synth import pools as P
from umi_edge.synth.families._common import Family, num, say
from umi_edge.synth.pools import Split, fmt_num
from umi_edge.synth.task import Call, Finish, GiveUp, Recipe
from umi_edge.tools.registry import Tool


@dataclass(frozen=True)
class Param:
    """One parameter: the request's slot, the names a tool may give it, its doc, and its value range."""

    slot: str
    names: tuple[str, ...]
    doc: str
    lo: float
    hi: float
    places: int = 0


@dataclass(frozen=True)
class Formula:
    """An everyday formula: tool names and docs, parameters, result key, requests and answers (``{r}``: result)."""

    key: str
    names: tuple[str, ...]
    docs: tuple[str, ...]
    params: tuple[Param, ...]
    out: str
    fn: Callable[..., float]
    asks: tuple[str, ...]
    says: tuple[str, ...]
    what: str
    """What it computes, for the planner's thought ("the tip")."""


def _r(x: float, places: int = 2) -> float:
    v = round(x, places)
    return int(v) if float(v).is_integer() else v


FORMULAS: tuple[Formula, ...] = (
    Formula(
        "tip",
        ("tip_amount", "restaurant_tip", "compute_tip"),
        ("Tip to leave on a restaurant bill at a given percentage.", "Compute the tip for a bill."),
        (
            Param("bill", ("bill_total", "amount", "bill"), "Total of the bill.", 12, 260, 2),
            Param("pct", ("tip_percent", "percentage", "rate"), "Tip as a percentage of the bill.", 8, 25),
        ),
        "tip",
        lambda bill, pct: _r(bill * pct / 100),
        (
            "How much is a {pct}% tip on a bill of {bill}?",
            "Our dinner came to {bill}. What should I tip at {pct} percent?",
            "Work out a {pct} percent tip for a {bill} bill.",
            "The bill is {bill} and I want to leave {pct}%. How much is that?",
            "tip for {bill} at {pct}%?",
        ),
        ("The tip is {r}.", "A {pct}% tip on {bill} is {r}."),
        "the tip",
    ),
    Formula(
        "bmi",
        ("body_mass_index", "bmi_calculator", "compute_bmi"),
        ("Body mass index from weight in kilograms and height in metres.", "Compute a person's BMI."),
        (
            Param("kg", ("weight_kg", "mass_kg", "weight"), "Body weight in kilograms.", 45, 130, 1),
            Param("m", ("height_m", "height", "height_metres"), "Height in metres.", 1.5, 2.05, 2),
        ),
        "bmi",
        lambda kg, m: _r(kg / (m * m), 1),
        (
            "What is the BMI of someone who weighs {kg} kg and is {m} m tall?",
            "I'm {m} m and {kg} kg. What's my BMI?",
            "Calculate the body mass index for {kg} kilograms at {m} metres.",
            "bmi {kg} kg {m} m",
            "My weight is {kg} kg and my height {m} m; tell me my BMI.",
        ),
        ("The BMI is {r}.", "Your body mass index is {r}."),
        "the body mass index",
    ),
    Formula(
        "electricity",
        ("electricity_cost", "energy_bill", "power_cost"),
        (
            "Cost of the electricity an appliance uses: power in watts, hours of use, price per kWh.",
            "Price of running a device for some hours.",
        ),
        (
            Param("w", ("watts", "power_w", "power"), "Power draw in watts.", 20, 3000),
            Param("h", ("hours", "hours_used", "duration_h"), "Hours of use.", 1, 300),
            Param("price", ("price_per_kwh", "kwh_price", "tariff"), "Price of one kWh.", 0.08, 0.6, 2),
        ),
        "cost",
        lambda w, h, price: _r(w * h / 1000 * price),
        (
            "A {w} W heater runs for {h} hours. Electricity costs {price} per kWh. What does that cost?",
            "How much does it cost to run a {w} watt device for {h} hours at {price} per kWh?",
            "What's the electricity cost of {h} h at {w} W if a kWh is {price}?",
            "Running something that draws {w} watts for {h} hours, with power at {price}/kWh: how much?",
        ),
        ("It costs {r}.", "Running it costs {r}."),
        "the electricity cost",
    ),
    Formula(
        "speed",
        ("average_speed", "speed_from_trip", "trip_speed"),
        ("Average speed in km/h from a distance in km and a time in hours.", "Average speed of a journey."),
        (
            Param("km", ("distance_km", "distance", "km"), "Distance travelled in kilometres.", 3, 900, 1),
            Param("h", ("hours", "time_h", "duration_hours"), "Time taken in hours.", 0.5, 12, 1),
        ),
        "speed_kmh",
        lambda km, h: _r(km / h),
        (
            "I drove {km} km in {h} hours. What was my average speed?",
            "What is the average speed for {km} km in {h} h?",
            "A train covers {km} kilometres in {h} hours. How fast is it on average?",
            "avg speed {km} km over {h} hours",
            "Tell me the speed if someone travels {km} km in {h} hours.",
        ),
        ("The average speed is {r} km/h.", "That is {r} km/h on average."),
        "the average speed",
    ),
    Formula(
        "discount",
        ("sale_price", "discounted_price", "price_after_discount"),
        ("Price after a percentage discount.", "What an item costs once a discount is taken off."),
        (
            Param("price", ("price", "original_price", "list_price"), "Price before the discount.", 5, 900, 2),
            Param("off", ("discount_percent", "percent_off", "discount"), "Discount in percent.", 5, 70),
        ),
        "final_price",
        lambda price, off: _r(price * (1 - off / 100)),
        (
            "A jacket costs {price} and is {off}% off. What do I pay?",
            "What is {price} after a {off} percent discount?",
            "The shop takes {off}% off an item priced {price}. What's the new price?",
            "price {price} minus {off}%",
            "How much will it be if something of {price} is reduced by {off}%?",
        ),
        ("You pay {r}.", "The price after the discount is {r}."),
        "the price after the discount",
    ),
    Formula(
        "interest",
        ("compound_interest", "savings_growth", "future_value"),
        ("Balance of savings after compound interest, compounded once a year.", "Future value of a deposit."),
        (
            Param("amount", ("principal", "deposit", "amount"), "Money deposited at the start.", 100, 50000),
            Param(
                "rate", ("annual_rate_percent", "rate_percent", "interest_rate"), "Yearly interest in percent.", 1, 9, 1
            ),
            Param("years", ("years", "term_years", "n_years"), "Number of years.", 1, 30),
        ),
        "balance",
        lambda amount, rate, years: _r(amount * (1 + rate / 100) ** years),
        (
            "If I put {amount} in savings at {rate}% a year, how much will I have after {years} years?",
            "What does {amount} grow to in {years} years at {rate} percent compound interest?",
            "Compound {amount} at {rate}% yearly for {years} years.",
            "I deposit {amount}; the bank pays {rate}% per year. Balance after {years} years?",
        ),
        ("The balance will be {r}.", "After the interest you will have {r}."),
        "the balance",
    ),
    Formula(
        "split",
        ("split_bill", "share_per_person", "divide_cost"),
        ("Each person's share when a cost is split evenly.", "Split an amount between people."),
        (
            Param("total", ("total", "total_cost", "amount"), "The whole amount.", 20, 2400, 2),
            Param("people", ("people", "num_people", "persons"), "How many people share it.", 2, 12),
        ),
        "each",
        lambda total, people: _r(total / people),
        (
            "We are {people} people and the bill is {total}. How much does each pay?",
            "Split {total} evenly between {people} friends.",
            "What is each share of {total} for {people} people?",
            "rent is {total}, {people} flatmates, per person?",
            "How much should each of {people} people chip in for {total}?",
        ),
        ("Each person pays {r}.", "That is {r} each."),
        "each person's share",
    ),
    Formula(
        "area",
        ("room_area", "floor_area", "rectangle_area"),
        ("Floor area of a rectangular room in square metres.", "Area of a rectangle from its length and width."),
        (
            Param("l", ("length_m", "length", "long_side"), "Length in metres.", 1.5, 25, 1),
            Param("w", ("width_m", "width", "short_side"), "Width in metres.", 1, 15, 1),
        ),
        "square_metres",
        lambda l, w: _r(l * w),  # noqa: E741
        (
            "My living room is {l} m by {w} m. What is its floor area?",
            "What is the area of a room {l} metres long and {w} wide?",
            "Area of a {l} x {w} m rectangle?",
            "how many square metres is a {l} by {w} m floor",
            "Give me the floor area for length {l} m and width {w} m.",
        ),
        ("The floor area is {r} square metres.", "It is {r} m²."),
        "the floor area",
    ),
    Formula(
        "download",
        ("download_time", "transfer_duration", "time_to_download"),
        (
            "Minutes needed to download a file from its size in megabytes and the speed in megabits per second.",
            "How long a download takes.",
        ),
        (
            Param("mb", ("size_mb", "file_mb", "megabytes"), "File size in megabytes.", 50, 60000),
            Param("mbps", ("speed_mbps", "bandwidth_mbps", "mbps"), "Connection speed in megabits per second.", 5, 900),
        ),
        "minutes",
        lambda mb, mbps: _r(mb * 8 / mbps / 60),
        (
            "How long will a {mb} MB file take to download at {mbps} Mbps?",
            "My connection is {mbps} megabits per second. How many minutes to download {mb} megabytes?",
            "Download time for {mb} MB over {mbps} Mbit/s?",
            "minutes to fetch {mb} MB at {mbps} Mbps",
            "I need to download a {mb} MB game on a {mbps} Mbps line. How long does it take?",
        ),
        ("It takes about {r} minutes.", "The download takes {r} minutes."),
        "the download time",
    ),
    Formula(
        "calories",
        ("calories_burned", "exercise_calories", "workout_energy"),
        (
            "Calories burned by an activity from its MET value, body weight in kg and minutes.",
            "Energy used during exercise.",
        ),
        (
            Param("met", ("met", "met_value", "intensity_met"), "The activity's MET value.", 2, 12, 1),
            Param("kg", ("weight_kg", "body_weight", "kg"), "Body weight in kilograms.", 45, 120),
            Param("min", ("minutes", "duration_min", "time_minutes"), "Minutes of activity.", 10, 180),
        ),
        "kcal",
        lambda met, kg, min: _r(met * 3.5 * kg / 200 * min, 1),
        (
            "How many calories do I burn in {min} minutes at {met} METs if I weigh {kg} kg?",
            "Calories burned: {kg} kg person, activity of {met} MET, {min} minutes?",
            "I weigh {kg} kg and did {min} minutes of exercise rated {met} MET. Energy burned?",
            "kcal for {min} min at MET {met}, {kg} kg",
        ),
        ("You burn about {r} kcal.", "That is {r} kilocalories."),
        "the calories burned",
    ),
    Formula(
        "loan",
        ("monthly_loan_payment", "loan_installment", "mortgage_payment"),
        ("Monthly payment of a loan repaid in equal instalments.", "Instalment for a loan at a yearly interest rate."),
        (
            Param("amount", ("loan_amount", "principal", "amount"), "Amount borrowed.", 1000, 400000),
            Param("rate", ("annual_rate_percent", "interest_percent", "apr"), "Yearly interest in percent.", 1, 12, 1),
            Param("months", ("months", "term_months", "n_payments"), "Number of monthly payments.", 6, 360),
        ),
        "payment",
        lambda amount, rate, months: _r(
            amount / months if rate == 0 else amount * (rate / 1200) / (1 - (1 + rate / 1200) ** -months)
        ),
        (
            "What's the monthly payment on a {amount} loan at {rate}% over {months} months?",
            "I borrow {amount} for {months} months at {rate} percent a year. How much per month?",
            "Monthly instalment for {amount}, {rate}% interest, {months} payments?",
            "loan {amount} at {rate}% for {months} months, monthly cost",
        ),
        ("The monthly payment is {r}.", "You would pay {r} a month."),
        "the monthly payment",
    ),
    Formula(
        "recipe",
        ("scale_recipe", "ingredient_for_servings", "recipe_scaler"),
        (
            "Amount of one ingredient when a recipe is made for a different number of servings.",
            "Scale an ingredient to a new number of servings.",
        ),
        (
            Param("qty", ("amount", "quantity", "qty"), "Amount of the ingredient in the original recipe.", 10, 900),
            Param(
                "have",
                ("servings", "recipe_servings", "original_servings"),
                "Servings the recipe is written for.",
                2,
                8,
            ),
            Param("want", ("target_servings", "new_servings", "wanted_servings"), "Servings wanted.", 1, 24),
        ),
        "scaled_amount",
        lambda qty, have, want: _r(qty * want / have),
        (
            "A recipe for {have} uses {qty} g of flour. How much for {want} servings?",
            "Scale {qty} grams from {have} servings to {want} servings.",
            "The recipe serves {have} and needs {qty} ml of milk; I'm cooking for {want}. How much milk?",
            "{qty} g for {have} people, how much for {want}?",
        ),
        ("You need {r}.", "For {want} servings use {r}."),
        "the scaled amount",
    ),
    Formula(
        "cooking",
        ("roast_time", "cooking_time", "oven_minutes"),
        (
            "Roasting time in minutes from the weight in kg and minutes per kg, plus a fixed extra time.",
            "How long to roast a joint of meat.",
        ),
        (
            Param("kg", ("weight_kg", "kg", "weight"), "Weight of the meat in kilograms.", 0.8, 6, 1),
            Param("per", ("minutes_per_kg", "min_per_kg", "rate"), "Minutes per kilogram.", 30, 60),
            Param("extra", ("extra_minutes", "plus_minutes", "extra"), "Extra minutes on top.", 0, 30),
        ),
        "minutes",
        lambda kg, per, extra: _r(kg * per + extra),
        (
            "How long do I roast {kg} kg of lamb at {per} minutes per kg plus {extra} minutes?",
            "Cooking time for a {kg} kg chicken: {per} min per kilo and {extra} extra minutes?",
            "Roast {kg} kg, {per} minutes a kilogram, add {extra}. Total minutes?",
            "oven time {kg} kg at {per} min/kg + {extra} min",
        ),
        ("Roast it for {r} minutes.", "It needs {r} minutes."),
        "the roasting time",
    ),
    Formula(
        "tiles",
        ("tiles_needed", "tile_count", "count_tiles"),
        (
            "Number of square tiles to cover a floor, from the floor area in m² and the tile side in cm.",
            "Tiles for a floor (rounded up).",
        ),
        (
            Param("area", ("area_m2", "floor_m2", "area"), "Floor area in square metres.", 2, 80, 1),
            Param("cm", ("tile_cm", "tile_side_cm", "side_cm"), "Side of one square tile in centimetres.", 10, 60),
        ),
        "tiles",
        lambda area, cm: math.ceil(round(area * 10000 / (cm * cm), 6)),
        (
            "How many {cm} cm tiles do I need for {area} square metres?",
            "Tiles for a {area} m² floor with {cm} cm tiles?",
            "I want to tile {area} m2 using square tiles of {cm} centimetres. How many?",
            "number of {cm}cm tiles for {area} m2",
        ),
        ("You need {r} tiles.", "That takes {r} tiles."),
        "the number of tiles",
    ),
    Formula(
        "water",
        ("daily_water_intake", "water_per_day", "hydration_target"),
        ("Litres of water a person should drink a day: 0.033 litres per kg of body weight.", "Daily water goal."),
        (Param("kg", ("weight_kg", "body_weight_kg", "kg"), "Body weight in kilograms.", 40, 130),),
        "litres",
        lambda kg: _r(kg * 0.033),
        (
            "How much water should someone of {kg} kg drink each day?",
            "Daily water intake for {kg} kg?",
            "I weigh {kg} kg. How many litres of water a day?",
            "water goal for {kg} kilograms",
        ),
        ("About {r} litres a day.", "The daily target is {r} litres."),
        "the daily water intake",
    ),
    Formula(
        "hourly",
        ("overtime_pay", "weekly_wage", "pay_for_hours"),
        (
            "Pay for a week of work: hourly rate, regular hours, and overtime hours paid at 1.5 times the rate.",
            "Weekly pay with overtime.",
        ),
        (
            Param("rate", ("hourly_rate", "rate_per_hour", "wage"), "Pay per hour.", 9, 80, 2),
            Param("hours", ("regular_hours", "hours", "base_hours"), "Regular hours worked.", 10, 40),
            Param("ot", ("overtime_hours", "extra_hours", "ot_hours"), "Overtime hours.", 0, 20),
        ),
        "pay",
        lambda rate, hours, ot: _r(rate * hours + 1.5 * rate * ot),
        (
            "I worked {hours} hours plus {ot} hours overtime at {rate} an hour. What's my pay?",
            "Weekly pay: {rate}/h, {hours} regular hours and {ot} overtime hours?",
            "How much do I earn for {hours} h and {ot} h of overtime at a rate of {rate}?",
            "pay for {hours}h + {ot}h OT at {rate}",
        ),
        ("The pay is {r}.", "You earn {r} this week."),
        "the week's pay",
    ),
    Formula(
        "steps",
        ("steps_to_km", "walking_distance", "steps_distance"),
        ("Distance walked in km from a number of steps and the step length in cm.", "Kilometres from step count."),
        (
            Param("steps", ("steps", "step_count", "n_steps"), "Number of steps.", 1000, 40000),
            Param("cm", ("step_cm", "stride_cm", "step_length_cm"), "Length of one step in centimetres.", 55, 90),
        ),
        "km",
        lambda steps, cm: _r(steps * cm / 100000, 2),
        (
            "I walked {steps} steps with a {cm} cm stride. How far is that?",
            "How many km are {steps} steps of {cm} cm?",
            "Distance for {steps} steps if each step is {cm} centimetres?",
            "{steps} steps at {cm}cm each in km",
        ),
        ("That is {r} km.", "You walked {r} kilometres."),
        "the distance walked",
    ),
    Formula(
        "vat",
        ("price_with_tax", "add_sales_tax", "gross_price"),
        ("Price including sales tax at a given rate.", "Add tax to a net price."),
        (
            Param("net", ("net_price", "price", "amount"), "Price before tax.", 3, 2000, 2),
            Param("tax", ("tax_percent", "vat_rate", "tax_rate"), "Tax rate in percent.", 5, 25),
        ),
        "gross",
        lambda net, tax: _r(net * (1 + tax / 100)),
        (
            "What is {net} with {tax}% sales tax added?",
            "The net price is {net}; tax is {tax} percent. Total?",
            "Add {tax}% VAT to {net}.",
            "price incl tax: {net} at {tax}%",
            "How much do I pay for {net} plus {tax}% tax?",
        ),
        ("With tax it is {r}.", "The total with tax is {r}."),
        "the price with tax",
    ),
    Formula(
        "age_dog",
        ("dog_age_in_human_years", "dog_years", "pet_age_human"),
        (
            "A dog's age in human years: 15 for the first year, 9 for the second, 5 for each year after.",
            "Convert a dog's age to human years.",
        ),
        (Param("years", ("dog_age", "age_years", "years"), "The dog's age in whole years.", 3, 18),),
        "human_years",
        lambda years: 15 + 9 + 5 * (years - 2),
        (
            "My dog is {years} years old. How old is that in human years?",
            "What is a {years}-year-old dog's human age?",
            "Convert {years} dog years to human years.",
            "dog age {years} in human years",
        ),
        ("That is {r} in human years.", "Your dog is like a {r}-year-old person."),
        "the dog's age in human years",
    ),
    Formula(
        "pace",
        ("running_pace", "pace_per_km", "minutes_per_km"),
        ("Running pace in minutes per km from a distance in km and a time in minutes.", "Pace of a run."),
        (
            Param("km", ("distance_km", "km", "distance"), "Distance run in kilometres.", 2, 42, 1),
            Param("min", ("minutes", "time_min", "duration_minutes"), "Time taken in minutes.", 10, 300),
        ),
        "min_per_km",
        lambda km, min: _r(min / km),
        (
            "I ran {km} km in {min} minutes. What was my pace?",
            "Pace for {km} kilometres in {min} min?",
            "How many minutes per km is {km} km in {min} minutes?",
            "pace {km}k in {min} min",
        ),
        ("Your pace was {r} minutes per km.", "That is {r} min/km."),
        "the pace",
    ),
    Formula(
        "carbon",
        ("flight_co2", "flight_emissions", "air_travel_carbon"),
        (
            "Kilograms of CO2 for a flight: distance in km times passengers times 0.115 kg per passenger-km.",
            "Carbon footprint of flying.",
        ),
        (
            Param("km", ("distance_km", "flight_km", "km"), "Flight distance in kilometres.", 200, 12000),
            Param("pax", ("passengers", "travellers", "people"), "Number of passengers.", 1, 6),
        ),
        "kg_co2",
        lambda km, pax: _r(km * pax * 0.115, 1),
        (
            "What are the CO2 emissions of a {km} km flight for {pax} people?",
            "Carbon footprint: {pax} passengers flying {km} kilometres?",
            "How much CO2 do {pax} travellers emit over {km} km by air?",
            "co2 for {km} km flight, {pax} pax",
        ),
        ("The flight emits about {r} kg of CO2.", "That is {r} kg CO2."),
        "the flight's CO2",
    ),
    Formula(
        "concrete",
        ("concrete_volume", "slab_volume", "concrete_needed"),
        (
            "Cubic metres of concrete for a slab from its length and width in m and thickness in cm.",
            "Volume of a concrete slab.",
        ),
        (
            Param("l", ("length_m", "length", "slab_length"), "Slab length in metres.", 1, 20, 1),
            Param("w", ("width_m", "width", "slab_width"), "Slab width in metres.", 1, 12, 1),
            Param("cm", ("thickness_cm", "depth_cm", "thickness"), "Thickness in centimetres.", 5, 30),
        ),
        "cubic_metres",
        lambda l, w, cm: _r(l * w * cm / 100, 3),  # noqa: E741
        (
            "How much concrete for a slab {l} m by {w} m and {cm} cm thick?",
            "Volume of a {l} x {w} m slab, {cm} centimetres deep?",
            "concrete m3 for {l}m x {w}m x {cm}cm",
            "I'm pouring a {cm} cm slab of {l} by {w} metres. How many cubic metres?",
        ),
        ("You need {r} cubic metres.", "That is {r} m³ of concrete."),
        "the concrete volume",
    ),
    Formula(
        "grade",
        ("weighted_grade", "final_grade", "course_score"),
        (
            "Final course score from an exam mark and a coursework mark, with the exam's weight in percent.",
            "Weighted average of two marks.",
        ),
        (
            Param("exam", ("exam_score", "exam", "test_mark"), "Exam mark out of 100.", 30, 100),
            Param("cw", ("coursework_score", "coursework", "homework_mark"), "Coursework mark out of 100.", 30, 100),
            Param("weight", ("exam_weight_percent", "exam_weight", "weight"), "Weight of the exam in percent.", 40, 80),
        ),
        "score",
        lambda exam, cw, weight: _r(exam * weight / 100 + cw * (100 - weight) / 100, 1),
        (
            "I got {exam} in the exam and {cw} in coursework; the exam counts {weight}%. Final grade?",
            "Weighted score: exam {exam}, coursework {cw}, exam weight {weight} percent?",
            "What's my course score if the exam ({weight}%) was {exam} and the coursework {cw}?",
            "final mark exam {exam} cw {cw} weight {weight}",
        ),
        ("Your final score is {r}.", "The weighted grade is {r}."),
        "the final score",
    ),
    Formula(
        "exchange",
        ("convert_currency_at_rate", "currency_at_rate", "money_exchange"),
        ("Amount received when changing money at a given rate, minus a fee in percent.", "Money exchange with a fee."),
        (
            Param("amount", ("amount", "sum_to_change", "money"), "Amount to change.", 10, 5000),
            Param("rate", ("rate", "exchange_rate", "fx_rate"), "Units received per unit changed.", 0.5, 160, 2),
            Param("fee", ("fee_percent", "commission", "fee"), "Fee in percent.", 0, 5, 1),
        ),
        "received",
        lambda amount, rate, fee: _r(amount * rate * (1 - fee / 100)),
        (
            "I change {amount} at a rate of {rate} and the bureau keeps {fee}%. How much do I get?",
            "Exchange {amount} at {rate} with a {fee} percent fee. What comes out?",
            "How much will I receive for {amount} at rate {rate}, commission {fee}%?",
            "fx {amount} @ {rate}, fee {fee}%",
        ),
        ("You receive {r}.", "You get {r}."),
        "the amount received",
    ),
    Formula(
        "battery",
        ("battery_runtime", "battery_hours", "runtime_on_battery"),
        (
            "Hours a device runs on a battery from its capacity in Wh and the device's power in watts.",
            "Battery life of a device.",
        ),
        (
            Param("wh", ("capacity_wh", "battery_wh", "wh"), "Battery capacity in watt-hours.", 10, 2000),
            Param("w", ("load_watts", "power_w", "watts"), "Power the device draws in watts.", 2, 500),
        ),
        "hours",
        lambda wh, w: _r(wh / w),
        (
            "How long will a {wh} Wh battery run a {w} W lamp?",
            "Runtime of a {w} watt device on {wh} watt-hours?",
            "My power bank holds {wh} Wh and the fan uses {w} W. How many hours?",
            "hours on {wh}Wh at {w}W",
        ),
        ("It runs for {r} hours.", "About {r} hours."),
        "the runtime",
    ),
    Formula(
        "heart",
        ("target_heart_rate", "training_heart_rate", "heart_rate_zone"),
        (
            "Target heart rate for training at a percentage of the maximum, taken as 220 minus age.",
            "Heart rate target.",
        ),
        (
            Param("age", ("age", "age_years", "years_old"), "Age in years.", 15, 80),
            Param(
                "pct",
                ("intensity_percent", "percent_of_max", "zone_percent"),
                "Intensity in percent of maximum.",
                50,
                90,
            ),
        ),
        "bpm",
        lambda age, pct: _r((220 - age) * pct / 100, 0),
        (
            "I'm {age}. What heart rate should I train at for {pct}% intensity?",
            "Target heart rate at {pct} percent for a {age}-year-old?",
            "bpm for age {age} at {pct}% of max",
            "What is {pct}% of the maximum heart rate at age {age}?",
        ),
        ("Aim for {r} beats per minute.", "The target is {r} bpm."),
        "the target heart rate",
    ),
    Formula(
        "fence",
        ("fence_length", "garden_perimeter", "perimeter_rectangle"),
        ("Metres of fencing for a rectangular garden, less the width of a gate.", "Fence needed around a garden."),
        (
            Param("l", ("length_m", "length", "garden_length"), "Garden length in metres.", 3, 60, 1),
            Param("w", ("width_m", "width", "garden_width"), "Garden width in metres.", 2, 40, 1),
            Param("gate", ("gate_m", "gate_width", "opening_m"), "Width of the gate in metres.", 0, 4, 1),
        ),
        "metres",
        lambda l, w, gate: _r(2 * (l + w) - gate),  # noqa: E741
        (
            "How much fence do I need for a {l} by {w} m garden with a {gate} m gate?",
            "Fencing for a garden {l} m long and {w} m wide, leaving {gate} m for the gate?",
            "perimeter of {l}x{w} m minus a {gate} m gate",
            "Metres of fence around {l} m by {w} m, gate {gate} m?",
        ),
        ("You need {r} metres of fence.", "That is {r} m of fencing."),
        "the fence length",
    ),
)
"""The catalogue: each entry becomes a new tool per task (names, parameter names and doc drawn per task)."""

ONE_THOUGHTS = [
    "The {tool} tool computes {what}; I will call it with the values from the request.",
    "{What} is what {tool} returns, so I call it.",
    "I should use {tool}: its description matches {what}.",
    "Reading the tools, {tool} gives {what}. I will pass the numbers the user gave.",
    "This needs {what}; {tool} does exactly that.",
]
SECOND_THOUGHTS = [
    "That was the first case. Now I call {tool} again for the second one.",
    "One result so far; the user also asked about the other value, so I call {tool} once more.",
    "I still need {what} for the second value, so I call {tool} again.",
]
FINISH_ONE = [
    "The tool returned {r}, so I can answer now.",
    "{tool} gave {r}; that answers the request.",
    "The observation says {r}. I can reply.",
]
FINISH_TWO = [
    "I have both results, {r1} and {r2}; I can answer now.",
    "The two calls gave {r1} and {r2}, which answers the question.",
]
GIVE_UP_THOUGHTS = [
    "None of the tools computes {what}: they are about other things. I cannot answer this with them.",
    "The tools offered do not handle {what}, so I have to give up.",
    "No tool here fits a request for {what}; calling one of them would not help.",
]
TWO_ASKS = [
    "{a} And what if {label} were {v2} instead?",
    "{a} Please also do it for {label} {v2}.",
    "{a} Then the same with {v2} as {label}.",
]


def _value(rng: random.Random, p: Param, split: Split, tag: str) -> float:
    places = p.places if p.hi - p.lo < 20 else rng.choice([0, p.places])  # a narrow range keeps its decimals
    v = P.decimal(rng, p.lo, p.hi, places, split, tag=tag)
    return int(v) if float(v).is_integer() else v


def formula_tool(f: Formula, name: str, doc: str, pnames: dict[str, str]) -> Tool:
    """The task's real tool for ``f``: JSON-Schema parameters named by ``pnames`` (slot -> name), result ``{out}``."""
    props = {
        pnames[p.slot]: {"type": "integer" if p.places == 0 and p.lo == int(p.lo) else "number", "description": p.doc}
        for p in f.params
    }
    slot_of = {v: k for k, v in pnames.items()}

    def run(**kwargs: Any) -> dict[str, Any]:
        return {f.out: f.fn(**{slot_of[k]: v for k, v in kwargs.items()})}

    return Tool(name, doc, {"type": "object", "properties": props, "required": list(props)}, func=run)


def _draw_tool(rng: random.Random, f: Formula, taken: set[str]) -> tuple[Tool, dict[str, str]]:
    """A tool for ``f`` with a drawn name (not in ``taken``), parameter names and doc; and its slot -> name map."""
    name = rng.choice([n for n in f.names if n not in taken] or list(f.names))
    pnames: dict[str, str] = {}
    for p in f.params:
        choices = [n for n in p.names if n not in pnames.values()]
        pnames[p.slot] = rng.choice(choices)
    return formula_tool(f, name, rng.choice(f.docs), pnames), pnames


def make_formula(rng: random.Random, split: Split, available: Sequence[str]) -> Recipe:
    """One formula task: the request's tool (or, for a give-up, only other formula tools) plus 1-3 others."""
    f = rng.choice(FORMULAS)
    kind = rng.choices(["one", "two", "none"], [0.6, 0.2, 0.2])[0]
    values = {p.slot: _value(rng, p, split, f"formula:{f.key}:{p.slot}") for p in f.params}
    tid, ask = P.template(rng, f.asks, split)
    slots = {k: fmt_num(v) for k, v in values.items()}
    query = ask.format(**slots)
    main, slot_names = _draw_tool(rng, f, set())
    others = rng.sample([g for g in FORMULAS if g.key != f.key], rng.randint(1, 3))
    extra = [main] if kind != "none" else []
    for g in others:
        extra.append(_draw_tool(rng, g, {t.name for t in extra})[0])
    if kind == "none" and rng.random() < 0.5 and available:  # sometimes a built-in beside the unrelated formulas
        builtins = [rng.choice(list(available))]
    else:
        builtins = []
    rng.shuffle(extra)
    tools = [t.name for t in extra] + builtins
    what = f.what
    call_args = {slot_names[k]: v for k, v in values.items()}
    slot2 = rng.choice(f.params) if kind == "two" else None
    if slot2 is not None:
        for _ in range(20):
            v2 = _value(rng, slot2, split, f"formula:{f.key}:{slot2.slot}")
            if v2 != values[slot2.slot]:
                break
        label = slot2.doc.split(" in ")[0].rstrip(".")
        label = label[:1].lower() + label[1:]
        query = say(rng, TWO_ASKS, a=query, label=label, v2=fmt_num(v2))
    fill = {"tool": main.name, "what": what, "What": what[:1].upper() + what[1:]}

    def solve():
        if kind == "none":
            return GiveUp(say(rng, GIVE_UP_THOUGHTS, what=what))
        res = yield Call(say(rng, ONE_THOUGHTS, **fill), main.name, call_args)
        r1 = res.value[f.out]
        if slot2 is None:
            concl = say(rng, f.says, r=num(r1), **slots)
            return Finish(say(rng, FINISH_ONE, r=num(r1), tool=main.name), concl, r1, "number")
        res2 = yield Call(say(rng, SECOND_THOUGHTS, **fill), main.name, {**call_args, slot_names[slot2.slot]: v2})
        r2 = res2.value[f.out]
        concl = f"With {slots[slot2.slot]}: {num(r1)}. With {fmt_num(v2)}: {num(r2)}."
        return Finish(say(rng, FINISH_TWO, r1=num(r1), r2=num(r2)), concl, [num(r1), num(r2)], "contains")

    expected = None if kind != "one" else f.fn(**values)
    key = ("formula", f.key, kind, tid, tuple(sorted(slots.items())), None if slot2 is None else (slot2.slot, v2))
    return Recipe("formula", f"formula/{f.key}/{kind}/{tid}", key, query, tools, solve, expected=expected,
                  extra_tools=extra)  # fmt: skip


FAMILIES = [
    Family(
        "formula",
        (),
        1.2,
        make_formula,
        "everyday formulas as new tools the task brings (names, parameters, docs drawn per task); one call, two "
        "calls, or no fitting tool → give up",
        brings_tools=True,
    )
]
