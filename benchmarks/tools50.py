"""Fifty user tools for ``--tools``: plain typed Python functions with docstrings (the tool-selection benchmark).

They stand in for a large user or MCP tool set: each has a real signature and description, and a small offline
body (data that would come from a service is a fixed table or a computed value).  Undecorated functions get
effect ``write``, as every ``--tools`` function does.
"""

from __future__ import annotations

import base64
import hashlib
import math
import random
import re
import uuid
from datetime import date
from typing import Literal

_CITIES = {
    "paris": (48.857, 2.352),
    "london": (51.507, -0.128),
    "tokyo": (35.690, 139.692),
    "new york": (40.713, -74.006),
}


def get_weather(city: str, unit: Literal["C", "F"] = "C") -> dict:
    """Current weather conditions and temperature for a city.

    Args:
        city: City name, e.g. Paris.
        unit: Temperature unit, Celsius or Fahrenheit.
    """
    t = 18.0 if unit == "C" else 64.4
    return {"city": city, "temperature": t, "unit": unit, "conditions": "cloudy"}


def get_weather_forecast(city: str, days: int = 3) -> dict:
    """Weather forecast for the next days in a city: rain chance and high/low temperatures.

    Args:
        city: City name.
        days: Number of days to forecast (1-7).
    """
    return {"city": city, "days": [{"day": i + 1, "high": 20, "low": 11, "rain_chance": 0.3} for i in range(days)]}


def get_stock_price(symbol: str) -> dict:
    """Latest share price of a company on the stock market.

    Args:
        symbol: Ticker symbol, e.g. AAPL.
    """
    return {"symbol": symbol.upper(), "price": 187.5, "currency": "USD"}


def convert_currency(amount: float, from_currency: str, to_currency: str) -> dict:
    """Convert money between currencies at today's exchange rate.

    Args:
        amount: Amount of money to convert.
        from_currency: ISO code of the source currency, e.g. EUR.
        to_currency: ISO code of the target currency, e.g. USD.
    """
    return {"amount": amount, "from": from_currency, "to": to_currency, "result": round(amount * 1.08, 2)}


def get_crypto_price(coin: str) -> dict:
    """Current price of a cryptocurrency such as bitcoin or ether in US dollars.

    Args:
        coin: Coin name or symbol, e.g. BTC.
    """
    return {"coin": coin, "usd": 64000.0}


def world_clock(timezone: str) -> dict:
    """Current local time in a time zone.

    Args:
        timezone: IANA time zone name, e.g. Europe/Paris.
    """
    return {"timezone": timezone, "time": "12:00"}


def translate_text(text: str, target_language: str, source_language: str = "auto") -> dict:
    """Translate text into another language.

    Args:
        text: Text to translate.
        target_language: Language to translate into, e.g. French.
        source_language: Language of the text, or auto to detect it.
    """
    return {"translation": text, "target_language": target_language}


def detect_language(text: str) -> dict:
    """Detect which language a text is written in.

    Args:
        text: The text to identify.
    """
    return {"language": "en", "confidence": 0.9}


def send_email(to: str, subject: str, body: str) -> dict:
    """Send an email message to a recipient.

    Args:
        to: Recipient email address.
        subject: Subject line.
        body: Message body.
    """
    return {"sent": True, "to": to}


def search_emails(query: str, limit: int = 10) -> dict:
    """Search the inbox for email messages matching words.

    Args:
        query: Words to look for in senders, subjects and bodies.
        limit: Most messages to return.
    """
    return {"query": query, "messages": []}


def create_calendar_event(title: str, start: str, duration_minutes: int = 60) -> dict:
    """Add a meeting or appointment to the calendar.

    Args:
        title: Event title.
        start: Start date and time, ISO format.
        duration_minutes: Length of the event in minutes.
    """
    return {"created": True, "title": title, "start": start}


def list_calendar_events(day: str) -> dict:
    """List the meetings and appointments on the calendar for a day.

    Args:
        day: Date, YYYY-MM-DD.
    """
    return {"day": day, "events": []}


def find_contact(name: str) -> dict:
    """Look up a person's phone number and email address in the address book.

    Args:
        name: Name of the contact.
    """
    return {"name": name, "phone": "+1 555 0100", "email": f"{name.lower().replace(' ', '.')}@example.com"}


def add_todo(task: str, due: str = "") -> dict:
    """Add an item to the to-do list.

    Args:
        task: What needs doing.
        due: Optional due date, YYYY-MM-DD.
    """
    return {"added": task, "due": due or None}


def list_todos(done: bool = False) -> dict:
    """Show the items on the to-do list.

    Args:
        done: Show completed items instead of open ones.
    """
    return {"done": done, "items": []}


def save_note(title: str, text: str) -> dict:
    """Save a text note under a title.

    Args:
        title: Note title.
        text: Note contents.
    """
    return {"saved": title, "chars": len(text)}


def set_reminder(message: str, minutes: int) -> dict:
    """Set an alarm or reminder that goes off after some minutes.

    Args:
        message: What to be reminded of.
        minutes: Minutes from now.
    """
    return {"message": message, "in_minutes": minutes}


def find_recipe(ingredients: list[str], cuisine: str = "") -> dict:
    """Find cooking recipes that use the given ingredients.

    Args:
        ingredients: Ingredients to cook with.
        cuisine: Optional cuisine, e.g. Italian.
    """
    return {"recipes": [{"name": "omelette", "ingredients": ingredients}]}


def nutrition_facts(food: str, grams: float = 100.0) -> dict:
    """Calories, protein, fat and carbohydrates in a food.

    Args:
        food: Food name, e.g. banana.
        grams: Portion size in grams.
    """
    return {"food": food, "grams": grams, "calories": round(0.89 * grams, 1)}


def search_flights(origin: str, destination: str, departure_date: str) -> dict:
    """Search airline flights between two airports on a date.

    Args:
        origin: Departure airport or city.
        destination: Arrival airport or city.
        departure_date: Travel date, YYYY-MM-DD.
    """
    return {"origin": origin, "destination": destination, "flights": [{"flight": "UE 101", "price": 240}]}


def search_hotels(city: str, check_in: str, nights: int = 1) -> dict:
    """Find hotel rooms available in a city.

    Args:
        city: City to stay in.
        check_in: Arrival date, YYYY-MM-DD.
        nights: Number of nights.
    """
    return {"city": city, "hotels": [{"name": "Hotel Central", "price_per_night": 120}]}


def geocode_address(address: str) -> dict:
    """Latitude and longitude coordinates of a street address or place.

    Args:
        address: Address or place name.
    """
    lat, lon = _CITIES.get(address.lower(), (0.0, 0.0))
    return {"address": address, "latitude": lat, "longitude": lon}


def distance_between(place_a: str, place_b: str) -> dict:
    """Great-circle distance in kilometers between two cities.

    Args:
        place_a: First city.
        place_b: Second city.
    """
    (la1, lo1), (la2, lo2) = (_CITIES.get(p.lower(), (0.0, 0.0)) for p in (place_a, place_b))
    p1, p2, dl = math.radians(la1), math.radians(la2), math.radians(lo2 - lo1)
    c = math.sin(p1) * math.sin(p2) + math.cos(p1) * math.cos(p2) * math.cos(dl)
    return {"km": round(6371.0 * math.acos(max(-1.0, min(1.0, c))), 1)}


def driving_directions(origin: str, destination: str) -> dict:
    """Turn-by-turn driving route and travel time between two places.

    Args:
        origin: Start address.
        destination: End address.
    """
    return {"origin": origin, "destination": destination, "minutes": 35, "steps": ["head north"]}


def wikipedia_summary(topic: str) -> dict:
    """Short encyclopedia summary of a topic from Wikipedia.

    Args:
        topic: Article title or subject.
    """
    return {"topic": topic, "summary": f"{topic} is a subject of an encyclopedia article."}


def latest_news(topic: str = "", country: str = "us") -> dict:
    """Latest news headlines, optionally about a topic.

    Args:
        topic: Subject of the headlines.
        country: Two-letter country code.
    """
    return {"topic": topic, "country": country, "headlines": []}


def movie_info(title: str) -> dict:
    """Release year, director, cast and rating of a film.

    Args:
        title: Movie title.
    """
    return {"title": title, "year": 1999, "rating": 8.1}


def song_lyrics(artist: str, song: str) -> dict:
    """Lyrics of a song by an artist.

    Args:
        artist: Singer or band.
        song: Song title.
    """
    return {"artist": artist, "song": song, "lyrics": ""}


def book_search(query: str) -> dict:
    """Find books by title or author, with their ISBN.

    Args:
        query: Title or author words.
    """
    return {"query": query, "books": []}


def sports_scores(team: str) -> dict:
    """Latest match result and score of a sports team.

    Args:
        team: Team name.
    """
    return {"team": team, "last_game": "2-1 win"}


def ip_lookup(ip_address: str) -> dict:
    """Country, city and network owner of an IP address.

    Args:
        ip_address: IPv4 or IPv6 address.
    """
    return {"ip": ip_address, "country": "unknown"}


def dns_lookup(domain: str, record_type: Literal["A", "AAAA", "MX", "TXT"] = "A") -> dict:
    """DNS records of a domain name.

    Args:
        domain: Domain name, e.g. example.com.
        record_type: Which record type to fetch.
    """
    return {"domain": domain, "type": record_type, "records": []}


def hash_text(text: str, algorithm: Literal["md5", "sha1", "sha256"] = "sha256") -> dict:
    """Cryptographic hash digest (checksum) of a text.

    Args:
        text: Text to hash.
        algorithm: Hash algorithm.
    """
    return {"algorithm": algorithm, "hex": hashlib.new(algorithm, text.encode()).hexdigest()}


def base64_encode(text: str, decode: bool = False) -> dict:
    """Encode text as Base64, or decode Base64 back to text.

    Args:
        text: Text to encode, or Base64 to decode.
        decode: Decode instead of encode.
    """
    out = base64.b64decode(text).decode() if decode else base64.b64encode(text.encode()).decode()
    return {"result": out}


def generate_password(length: int = 16, symbols: bool = True) -> dict:
    """Generate a random strong password.

    Args:
        length: Number of characters.
        symbols: Include punctuation symbols.
    """
    chars = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789" + ("!#$%&*+-=?@" if symbols else "")
    return {"password": "".join(random.SystemRandom().choice(chars) for _ in range(length))}


def generate_uuid() -> dict:
    """Generate a new random UUID identifier."""
    return {"uuid": str(uuid.uuid4())}


def shorten_url(url: str) -> dict:
    """Make a short link for a long web address.

    Args:
        url: The URL to shorten.
    """
    return {"url": url, "short": "https://u.example/" + hashlib.sha1(url.encode()).hexdigest()[:6]}


def regex_match(pattern: str, text: str) -> dict:
    """Find all matches of a regular expression in a text.

    Args:
        pattern: Regular expression.
        text: Text to search.
    """
    return {"matches": re.findall(pattern, text)}


def word_count(text: str) -> dict:
    """Count the words, characters and sentences of a text.

    Args:
        text: The text to count.
    """
    return {"words": len(text.split()), "characters": len(text), "sentences": len(re.findall(r"[.!?]+", text))}


def spell_check(text: str) -> dict:
    """Find misspelled words in a text and suggest corrections.

    Args:
        text: Text to check.
    """
    return {"misspelled": []}


def find_synonyms(word: str) -> dict:
    """Synonyms of an English word (thesaurus).

    Args:
        word: The word.
    """
    return {"word": word, "synonyms": []}


def define_word(word: str) -> dict:
    """Dictionary definition and pronunciation of an English word.

    Args:
        word: The word to define.
    """
    return {"word": word, "definitions": []}


def roll_dice(sides: int = 6, count: int = 1) -> dict:
    """Roll dice and return the results.

    Args:
        sides: Faces per die.
        count: Number of dice.
    """
    return {"rolls": [random.randint(1, sides) for _ in range(count)]}


def bmi_calculator(weight_kg: float, height_cm: float) -> dict:
    """Body mass index from weight and height.

    Args:
        weight_kg: Body weight in kilograms.
        height_cm: Height in centimeters.
    """
    return {"bmi": round(weight_kg / (height_cm / 100) ** 2, 1)}


def loan_payment(principal: float, annual_rate_percent: float, years: int) -> dict:
    """Monthly payment of a loan or mortgage.

    Args:
        principal: Amount borrowed.
        annual_rate_percent: Yearly interest rate in percent.
        years: Loan term in years.
    """
    r, n = annual_rate_percent / 1200, years * 12
    pay = principal / n if r == 0 else principal * r / (1 - (1 + r) ** -n)
    return {"monthly_payment": round(pay, 2)}


def tip_calculator(bill: float, tip_percent: float = 15.0, people: int = 1) -> dict:
    """Restaurant tip and each person's share of the bill.

    Args:
        bill: Bill total.
        tip_percent: Tip in percent.
        people: Number of people splitting the bill.
    """
    total = bill * (1 + tip_percent / 100)
    return {"tip": round(bill * tip_percent / 100, 2), "per_person": round(total / people, 2)}


def age_from_birthdate(birthdate: str) -> dict:
    """How old someone is today, from their date of birth.

    Args:
        birthdate: Date of birth, YYYY-MM-DD.
    """
    b, t = date.fromisoformat(birthdate), date.today()
    return {"age": t.year - b.year - ((t.month, t.day) < (b.month, b.day))}


def is_prime(n: int) -> dict:
    """Check whether an integer is a prime number.

    Args:
        n: The number to test.
    """
    return {"n": n, "prime": n > 1 and all(n % d for d in range(2, math.isqrt(n) + 1))}


def roman_numerals(number: int) -> dict:
    """Write an integer in Roman numerals.

    Args:
        number: Integer from 1 to 3999.
    """
    vals = [(1000, "M"), (900, "CM"), (500, "D"), (400, "CD"), (100, "C"), (90, "XC"), (50, "L")]
    vals += [(40, "XL"), (10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I")]
    out, n = "", number
    for v, s in vals:
        while n >= v:
            out, n = out + s, n - v
    return {"number": number, "roman": out}


def hex_to_rgb(color: str) -> dict:
    """Convert a hex color code to its RGB components.

    Args:
        color: Hex color such as #ff8800.
    """
    h = color.lstrip("#")
    return {"r": int(h[0:2], 16), "g": int(h[2:4], 16), "b": int(h[4:6], 16)}
