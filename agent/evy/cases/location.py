"""Where the sender is, read from what people actually text.

Recognised, most precise first: ``geo:`` URIs (RFC 5870, also the OGC GeoSMS form), map links (Google,
OpenStreetMap, Apple, Bing, Waze), Open Location Codes (full, or short with a reference point such as the
kit's position), degree-minute(-second) and decimal coordinates, and free-text landmarks ("near the
mosque on Market Road"), which are kept verbatim. A link that cannot be resolved offline (a short link) is
kept verbatim as well, so a rescuer can open it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from evy.triage.normalize import fold


@dataclass(frozen=True)
class Location:
    kind: str  # geo_uri, map_link, plus_code, dms, decimal, link, landmark
    text: str  # the part of the message it was read from, verbatim
    latitude: float | None = None
    longitude: float | None = None
    accuracy_m: float | None = None

    @property
    def has_coordinates(self) -> bool:
        return self.latitude is not None and self.longitude is not None


def find_location(text: str, *, reference: tuple[float, float] | None = None,
                  expecting: bool = False) -> Location | None:
    """The most precise location in ``text``, or None.

    ``reference`` (latitude, longitude) resolves short plus codes. ``expecting`` is set when the sender was
    just asked where they are: then a reply with no recognisable form is itself the landmark.
    """
    for finder in (_geo_uri, _map_link, _plus_code, _dms, _decimal):
        found = finder(text, reference)
        if found is not None:
            return found
    link = _UNRESOLVED_LINK.search(text)
    if link:
        return Location("link", link.group(0))
    landmark = _landmark(text)
    if landmark is not None:
        return landmark
    stripped = " ".join(text.split())
    if expecting and stripped and len(stripped) <= 160:
        return Location("landmark", stripped)
    return None


def _valid(latitude: float, longitude: float) -> bool:
    return -90.0 <= latitude <= 90.0 and -180.0 <= longitude <= 180.0 and not (latitude == 0 and longitude == 0)


def _point(kind: str, match: re.Match[str], latitude: float, longitude: float,
           accuracy_m: float | None = None) -> Location | None:
    if not _valid(latitude, longitude):
        return None
    return Location(kind, match.group(0), round(latitude, 6), round(longitude, 6), accuracy_m)


_NUMBER = r"[-+]?\d{1,3}(?:\.\d+)?"

# RFC 5870: geo:lat,lon[,alt][;crs=wgs84][;u=uncertainty]...
_GEO_URI = re.compile(rf"\bgeo:\s*({_NUMBER})\s*,\s*({_NUMBER})(?:\s*,\s*{_NUMBER})?((?:;[\w.=-]*)*)", re.I)


def _geo_uri(text: str, _reference: tuple[float, float] | None) -> Location | None:
    for match in _GEO_URI.finditer(text):
        params = dict(part.partition("=")[::2] for part in match.group(3).lower().split(";") if part)
        if params.get("crs", "wgs84") != "wgs84":
            continue
        try:
            accuracy = float(params["u"]) if "u" in params else None
        except ValueError:
            accuracy = None
        found = _point("geo_uri", match, float(match.group(1)), float(match.group(2)), accuracy)
        if found:
            return found
    return None


_DEC = r"-?\d{1,3}\.\d+"
_MAP_LINKS = (
    # google: ?q= ll= query= daddr= center= destination= ; /@lat,lon ; /search/lat,+lon ; /place/lat,lon
    re.compile(rf"\S*(?:google|goo\.gl|waze|apple|bing)\S*?[?&;](?:q|ll|sll|query|daddr|center|destination|"
               rf"cp)=(?:loc:)?({_DEC})(?:,|%2C|~|\+|\s)+({_DEC})\S*", re.I),
    re.compile(rf"\S*google\S*?/(?:@|search/|place/|dir/)({_DEC}),(?:\+|%20)?({_DEC})\S*", re.I),
    re.compile(rf"\S*(?:openstreetmap|osm)\S*?#map=\d+/({_DEC})/({_DEC})\S*", re.I),
    re.compile(rf"\S*(?:openstreetmap|osm)\S*?mlat=({_DEC})&(?:amp;)?mlon=({_DEC})\S*", re.I),
)
_UNRESOLVED_LINK = re.compile(r"\b(?:https?://)?(?:maps\.app\.goo\.gl|goo\.gl/maps|osm\.org/go|w3w\.co|"
                              r"what3words\.com|maps\.apple\.com|waze\.com/ul)/?\S*", re.I)


def _map_link(text: str, _reference: tuple[float, float] | None) -> Location | None:
    for pattern in _MAP_LINKS:
        for match in pattern.finditer(text):
            found = _point("map_link", match, float(match.group(1)), float(match.group(2)))
            if found:
                return found
    return None


# ------------------------------------------------------------------------------------ Open Location Code
# Written from the public Open Location Code specification (the official Python package is an unmaintained
# source-only release, so the image would need a build step for ~60 lines; the tests check this against it).
# A 20-letter alphabet; the first ten characters are five latitude/longitude pairs at 20, 1, 1/20, 1/400
# and 1/8000 degrees, with a '+' after the eighth; each later character splits the cell into 5 rows x 4 columns.
OLC_ALPHABET = "23456789CFGHJMPQRVWX"
_OLC_PAIR_RESOLUTIONS = (20.0, 1.0, 0.05, 0.0025, 0.000125)
_OLC_CHAR = f"[{OLC_ALPHABET}{OLC_ALPHABET.lower()}]"
_PLUS_CODE = re.compile(rf"(?<![\w+])({_OLC_CHAR}{{2,8}}0*)\+({_OLC_CHAR}{{0,7}})(?![\w+])")
_GRID_ROWS, _GRID_COLUMNS = 5, 4
_MAX_GRID_CHARACTERS = 5


def decode_plus_code(code: str) -> tuple[float, float, float]:
    """A full plus code's centre (latitude, longitude) and its cell's half-diagonal in metres."""
    code = code.upper()
    head, separator, tail = code.partition("+")
    digits = head.rstrip("0")
    if (not separator or len(head) != 8 or len(tail) == 1 or len(digits) < 2 or len(digits) % 2
            or "0" in digits or (len(digits) < 8 and tail)
            or any(char not in OLC_ALPHABET for char in digits + tail)):
        raise ValueError(f"not a full plus code: {code!r}")
    if OLC_ALPHABET.index(digits[0]) > 8 or OLC_ALPHABET.index(digits[1]) > 17:
        raise ValueError(f"plus code outside the globe: {code!r}")
    pairs, grid = (digits + tail)[:10], (digits + tail)[10:]
    latitude, longitude = -90.0, -180.0
    lat_size = lon_size = 0.0
    for index, resolution in enumerate(_OLC_PAIR_RESOLUTIONS[: len(pairs) // 2]):
        latitude += OLC_ALPHABET.index(pairs[2 * index]) * resolution
        longitude += OLC_ALPHABET.index(pairs[2 * index + 1]) * resolution
        lat_size = lon_size = resolution
    for char in grid[:_MAX_GRID_CHARACTERS]:
        row, column = divmod(OLC_ALPHABET.index(char), _GRID_COLUMNS)
        lat_size, lon_size = lat_size / _GRID_ROWS, lon_size / _GRID_COLUMNS
        latitude += row * lat_size
        longitude += column * lon_size
    centre_lat = min(latitude + lat_size / 2, 90.0)
    centre_lon = longitude + lon_size / 2
    half_diagonal = math.hypot(lat_size * 111_320, lon_size * 111_320 * math.cos(math.radians(centre_lat))) / 2
    return centre_lat, centre_lon, half_diagonal


def _pair_digits(latitude: float, longitude: float, length: int) -> str:
    """The first ``length`` (even, at most 8) characters of the plus code of a point."""
    latitude = min(max(latitude, -90.0), 90.0 - 1e-9) + 90.0
    longitude = (longitude + 180.0) % 360.0
    digits = []
    for resolution in _OLC_PAIR_RESOLUTIONS[: length // 2]:
        lat_digit, lon_digit = int(latitude // resolution), int(longitude // resolution)
        digits += [OLC_ALPHABET[lat_digit], OLC_ALPHABET[lon_digit]]
        latitude -= lat_digit * resolution
        longitude -= lon_digit * resolution
    return "".join(digits)


def recover_short_code(short: str, reference: tuple[float, float]) -> str:
    """The full code nearest ``reference`` for a short code ("PR6C+24" near Nairobi -> "6GCRPR6C+24")."""
    short = short.upper()
    missing = 8 - short.index("+")
    if missing <= 0:
        return short
    resolution = 20.0 ** (2 - missing // 2)
    latitude, longitude, _ = decode_plus_code(_pair_digits(*reference, missing) + short)
    ref_lat, ref_lon = reference
    if ref_lat + resolution / 2 < latitude and latitude - resolution >= -90:
        latitude -= resolution
    elif ref_lat - resolution / 2 > latitude and latitude + resolution <= 90:
        latitude += resolution
    if ref_lon + resolution / 2 < longitude:
        longitude -= resolution
    elif ref_lon - resolution / 2 > longitude:
        longitude += resolution
    return _pair_digits(latitude, longitude, missing) + short


def _plus_code(text: str, reference: tuple[float, float] | None) -> Location | None:
    for match in _PLUS_CODE.finditer(text):
        code = match.group(0).upper()
        try:
            if len(match.group(1)) < 8:
                if reference is None or len(match.group(1)) % 2:
                    continue
                code = recover_short_code(code, reference)
            latitude, longitude, half_diagonal = decode_plus_code(code)
        except ValueError:
            continue
        found = _point("plus_code", match, latitude, longitude, round(half_diagonal, 1))
        if found:
            return found
    return None


# ---------------------------------------------------------------------------------- degrees and decimals
_DEGREE_MARK = r"(?:\s*(?:°|º|˚|deg\b|d\b|\*)\s*|\s+)"
_MINUTE_MARK = r"(?:\s*(?:'|′|’|min\b|m\b)\s*|\s+)"
_SECOND_MARK = r"(?:\s*(?:\"|″|''|’’|sec\b|s(?=\s*\d))\s*|\s*)"
_DMS_VALUE = (rf"(\d{{1,3}}){_DEGREE_MARK}(\d{{1,2}}(?:[.,]\d+)?){_MINUTE_MARK}?"
              rf"(?:(\d{{1,2}}(?:[.,]\d+)?){_SECOND_MARK})?")
_DMS_SUFFIX = re.compile(rf"{_DMS_VALUE}\s*([NSns])\b[\s,;/]*{_DMS_VALUE}\s*([EWOewo])\b")
_DMS_PREFIX = re.compile(rf"\b([NSns])\s*{_DMS_VALUE}[\s,;/]*([EWOewo])\s*{_DMS_VALUE}")


def _dms_degrees(degrees: str, minutes: str, seconds: str | None) -> float | None:
    minutes_value = float(minutes.replace(",", "."))
    seconds_value = float(seconds.replace(",", ".")) if seconds else 0.0
    if minutes_value >= 60 or seconds_value >= 60:
        return None
    return int(degrees) + minutes_value / 60 + seconds_value / 3600


def _dms(text: str, _reference: tuple[float, float] | None) -> Location | None:
    for pattern, suffix in ((_DMS_SUFFIX, True), (_DMS_PREFIX, False)):
        for match in pattern.finditer(text):
            groups = match.groups()
            if suffix:
                lat_parts, lat_side, lon_parts, lon_side = groups[0:3], groups[3], groups[4:7], groups[7]
            else:
                lat_side, lat_parts, lon_side, lon_parts = groups[0], groups[1:4], groups[4], groups[5:8]
            latitude, longitude = _dms_degrees(*lat_parts), _dms_degrees(*lon_parts)
            if latitude is None or longitude is None:
                continue
            latitude *= -1 if lat_side.upper() == "S" else 1
            longitude *= -1 if lon_side.upper() == "W" else 1  # "O" (oeste/ouest) is west
            longitude *= -1 if lon_side.upper() == "O" else 1
            found = _point("dms", match, latitude, longitude)
            if found:
                return found
    return None


# Decimal degrees need at least three decimals on both, so "2.5 km, 3.0 m" or a price is not a place.
_DECIMAL = re.compile(
    r"(?<![\w.])([-+]?\d{1,2}\.\d{3,})\s*°?\s*([NSns])?\s*[,;/ ]\s*(?:lon\w*\s*[:=]?\s*)?"
    r"([-+]?\d{1,3}\.\d{3,})\s*°?\s*([EWOewo])?(?![\w.])")


def _decimal(text: str, _reference: tuple[float, float] | None) -> Location | None:
    for match in _DECIMAL.finditer(text):
        latitude, longitude = float(match.group(1)), float(match.group(3))
        if (match.group(2) or "").upper() == "S":
            latitude = -abs(latitude)
        if (match.group(4) or "").upper() in ("W", "O"):
            longitude = -abs(longitude)
        found = _point("decimal", match, latitude, longitude)
        if found:
            return found
    return None


# ------------------------------------------------------------------------------------------- landmarks
# A place phrase: a locating word, then words up to the end of the clause. Kept only if the phrase names a
# kind of place or a proper name, so "near death" or "at the moment" are not places.
_LOCATORS = (
    r"near|next to|behind|opposite|in front of|beside|close to|across from|at the|on the road to|"
    r"we are (?:at|in)|i am (?:at|in)|im (?:at|in)|"
    r"cerca de|junto a|detras de|frente a|al lado de|estamos en|estoy en|"
    r"pres de|a cote de|derriere|en face de|devant|nous sommes a|je suis a|"
    r"perto d[aoe]s?|ao lado d[aoe]s?|atras d[aoe]s?|em frente|estamos n[ao]|estou n[ao]|"
    r"karibu na|nyuma ya|mbele ya|kando ya|tuko|niko|"
    r"toupre|bo kote|deye|nou nan|mwen nan"
)
_PLACE_WORDS_TEXT = (
    "church mosque school market road street st rd bridge hospital clinic river village camp station "
    "junction stage hotel shop kiosk well borehole tower km mile hill farm field estate block house "
    "iglesia mezquita escuela mercado calle carretera puente hospital rio pueblo campamento plaza "
    "eglise mosquee ecole marche rue route pont hopital riviere village camp place "
    "igreja mesquita escola mercado rua estrada ponte hospital rio vila aldeia acampamento praca "
    "kanisa msikiti shule soko barabara daraja hospitali mto kijiji kambi kituo duka kisima "
    "legliz moske lekol mache lari wout pon lopital rivye bouk kan plas"
)
_PLACE_WORDS = frozenset(_PLACE_WORDS_TEXT.split())
_NON_LETTERS = re.compile(r"[\W_]+")
_LANDMARK = re.compile(rf"\b(?:{_LOCATORS})\b[^.!?\n]{{3,100}}", re.I)


def _landmark(text: str) -> Location | None:
    for match in _LANDMARK.finditer(text):
        phrase = match.group(0).strip(" ,;:")
        words = phrase.split()
        folded = set(_NON_LETTERS.split(fold(phrase)))
        proper_name = any(word[:1].isupper() for word in words[1:]) and not phrase.isupper()
        if folded & _PLACE_WORDS or proper_name:
            return Location("landmark", phrase)
    return None


# --------------------------------------------------------------------------------------------- geometry
EARTH_RADIUS_M = 6_371_008.8


def distance_bearing(origin: tuple[float, float], target: tuple[float, float]) -> tuple[float, float]:
    """Great-circle distance in metres and initial bearing in degrees (0 = north) from origin to target."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*origin, *target))
    d_lat, d_lon = lat2 - lat1, lon2 - lon1
    haversine = math.sin(d_lat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(d_lon / 2) ** 2
    distance = 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(haversine)))
    bearing = math.degrees(math.atan2(math.sin(d_lon) * math.cos(lat2),
                                      math.cos(lat1) * math.sin(lat2)
                                      - math.sin(lat1) * math.cos(lat2) * math.cos(d_lon)))
    return distance, (bearing + 360.0) % 360.0


_COMPASS = ("N", "NE", "E", "SE", "S", "SW", "W", "NW")


def compass_point(bearing: float) -> str:
    return _COMPASS[int((bearing % 360) / 45 + 0.5) % 8]
