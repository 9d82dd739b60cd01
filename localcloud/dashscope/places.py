"""The local model's vocabulary for arguments: cities, time zones, regions and dates found in a phrase (pure)."""

from __future__ import annotations

import re
from datetime import date, timedelta

__all__ = ["DEFAULT_CITY", "DEFAULT_TIMEZONE", "city_in", "date_in", "region_in", "timezone_in"]

DEFAULT_CITY = "Hangzhou"
DEFAULT_TIMEZONE = "Asia/Shanghai"

# name (lower case) -> (display name, IANA zone, Alibaba Cloud region or "")
_CITIES: dict[str, tuple[str, str, str]] = {
    "beijing": ("Beijing", "Asia/Shanghai", "cn-beijing"),
    "shanghai": ("Shanghai", "Asia/Shanghai", "cn-shanghai"),
    "hangzhou": ("Hangzhou", "Asia/Shanghai", "cn-hangzhou"),
    "shenzhen": ("Shenzhen", "Asia/Shanghai", "cn-shenzhen"),
    "guangzhou": ("Guangzhou", "Asia/Shanghai", ""),
    "chengdu": ("Chengdu", "Asia/Shanghai", ""),
    "hong kong": ("Hong Kong", "Asia/Hong_Kong", "cn-hongkong"),
    "singapore": ("Singapore", "Asia/Singapore", "ap-southeast-1"),
    "tokyo": ("Tokyo", "Asia/Tokyo", ""),
    "seoul": ("Seoul", "Asia/Seoul", ""),
    "sydney": ("Sydney", "Australia/Sydney", ""),
    "london": ("London", "Europe/London", ""),
    "paris": ("Paris", "Europe/Paris", ""),
    "berlin": ("Berlin", "Europe/Berlin", ""),
    "new york": ("New York", "America/New_York", ""),
    "san francisco": ("San Francisco", "America/Los_Angeles", ""),
    "seattle": ("Seattle", "America/Los_Angeles", ""),
    "los angeles": ("Los Angeles", "America/Los_Angeles", ""),
}
_ALIASES = {"sf": "san francisco", "nyc": "new york", "hk": "hong kong", "北京": "beijing", "上海": "shanghai",
            "杭州": "hangzhou", "深圳": "shenzhen", "广州": "guangzhou", "成都": "chengdu", "香港": "hong kong",
            "新加坡": "singapore", "东京": "tokyo", "首尔": "seoul", "伦敦": "london", "纽约": "new york",
            "旧金山": "san francisco"}
_CITY = re.compile(r"(?:\b|(?<=[\u4e00-\u9fff])|^)(" + "|".join(sorted([*_CITIES, *_ALIASES], key=len, reverse=True))
                   .replace(" ", r"\s+") + r")(?:\b|(?=[\u4e00-\u9fff])|$)", re.IGNORECASE)
# Words that follow "in"/"for" without naming a place ("weather for tomorrow", "time in my city").
_NOT_PLACES = frozenset({
    "a", "an", "the", "my", "our", "your", "me", "us", "it", "this", "that", "here", "there", "now", "today",
    "tonight", "tomorrow", "yesterday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday",
    "sunday", "i", "dingtalk", "oss", "ecs", "general", "english", "chinese", "celsius", "fahrenheit", "utc",
    "gmt", "next", "detail", "details", "short", "case",
})
_CAPITALISED_PLACE = re.compile(r"\b(?i:in|for|at)\s+([A-Z][\w'-]*(?:\s+[A-Z][\w'-]*)*)")
_LOWER_PLACE = re.compile(r"\b(?:in|for)\s+([a-z][a-z'-]+)")
_IANA_ZONE = re.compile(r"\b(?:Africa|America|Antarctica|Asia|Atlantic|Australia|Europe|Indian|Pacific|Etc)"
                        r"/[A-Za-z_]+(?:/[A-Za-z_]+)?\b")
_UTC = re.compile(r"\b(?:utc|gmt)\b", re.IGNORECASE)
_REGION = re.compile(r"\b(?:cn|ap|us|eu|me)-[a-z]+(?:-\d+)?\b", re.IGNORECASE)
_ISO_DATE = re.compile(r"\b(\d{4}-\d{2}-\d{2})\b")
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_RELATIVE_DAYS = (("day after tomorrow", 2), ("tomorrow", 1), ("yesterday", -1), ("today", 0), ("tonight", 0))
_CHINESE_DAYS = (("后天", 2), ("明天", 1), ("昨天", -1), ("今天", 0))


def _known_city(phrase: str) -> tuple[str, str, str] | None:
    found = _CITY.search(phrase)
    if found is None:
        return None
    name = re.sub(r"\s+", " ", found.group(1).lower())
    return _CITIES[_ALIASES.get(name, name)]


def _named_place(phrase: str) -> str | None:
    for found in _CAPITALISED_PLACE.finditer(phrase):
        words = found.group(1).split()
        if words[0].lower() not in _NOT_PLACES:
            return " ".join(words)
    return None


def _lower_case_place(phrase: str) -> str | None:
    for found in _LOWER_PLACE.finditer(phrase):
        if found.group(1) not in _NOT_PLACES:
            return found.group(1).title()
    return None


def city_in(*phrases: str) -> str:
    """The first city named in the phrases, tried in order (the clause, then the whole message)."""
    for phrase in phrases:
        known = _known_city(phrase)
        named = _named_place(phrase)
        if named and (known is None or known[0].lower() not in named.lower()):
            return named
        if known:
            return known[0]
        if lower := _lower_case_place(phrase):
            return lower
    return DEFAULT_CITY


def timezone_in(*phrases: str) -> str:
    """An IANA zone named in the phrases, or the zone of a city they name; Asia/Shanghai otherwise."""
    for phrase in phrases:
        if zone := _IANA_ZONE.search(phrase):
            return zone.group(0)
        if _UTC.search(phrase):
            return "UTC"
        if known := _known_city(phrase):
            return known[1]
    return DEFAULT_TIMEZONE


def region_in(*phrases: str) -> str | None:
    """An Alibaba Cloud region id named in the phrases, or the region of a city they name."""
    for phrase in phrases:
        if region := _REGION.search(phrase):
            return region.group(0).lower()
        known = _known_city(phrase)
        if known and known[2]:
            return known[2]
    return None


def _iso_date(phrase: str) -> date | None:
    for found in _ISO_DATE.finditer(phrase):
        try:
            return date.fromisoformat(found.group(1))
        except ValueError:  # 2026-02-30 looks like a date but is not one
            continue
    return None


def _spoken_date(phrase: str, today: date) -> date | None:
    lowered = phrase.lower()
    for words, offset in _CHINESE_DAYS:
        if words in phrase:
            return today + timedelta(days=offset)
    for words, offset in _RELATIVE_DAYS:
        if re.search(rf"\b{words}\b", lowered):
            return today + timedelta(days=offset)
    for number, name in enumerate(_WEEKDAYS):
        if re.search(rf"\b{name}\b", lowered):
            # The coming one (today when it is that day): people rarely ask about last week this way.
            return today + timedelta(days=(number - today.weekday()) % 7)
    return None


def date_in(today: date, *phrases: str) -> str:
    """The ISO date the phrases mean (an ISO date, "tomorrow", a weekday…); today when they name none."""
    for phrase in phrases:
        found = _iso_date(phrase) or _spoken_date(phrase, today)
        if found is not None:
            return found.isoformat()
    return today.isoformat()
