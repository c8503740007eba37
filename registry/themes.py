"""The controlled vocabulary of activity themes, and a rule-based classifier.

Themes of real records come from keyword rules over an activity's name and description:
transparent, testable and cheap to rerun when the rules change. A theme set a person chose
(``themes_source = 'override'``) is never replaced by the classifier.

Each rule is a list of patterns matched case-insensitively at word starts; a theme applies
when any of its patterns occurs. The first ten themes are the *dual-impact core*: outcomes
that also avoid frontline costs (police, NHS, council, criminal justice).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd


@dataclass(frozen=True)
class Theme:
    slug: str
    label: str
    patterns: tuple[str, ...]
    core: bool = False


THEMES: tuple[Theme, ...] = (
    Theme(
        "youth",
        "Youth",
        (
            r"young (?:people|person|adults?|carers|women|men)",
            r"youths?\b",
            r"teen",
            r"adolescen",
            r"scouts?\b",
            r"guides?\b",
            r"brownies",
            r"cadets?\b",
            r"air training corps",
            r"boys'? brigade",
            r"child(?:ren)?(?:'s)?\b",
            r"kids\b",
            r"boys'? club",
            r"girls'? club",
            r"girls'? brigade",
            r"youth club",
            r"children and young",
        ),
        core=True,
    ),
    Theme(
        "crime_prevention",
        "Crime prevention",
        (
            r"crime",
            r"criminal",
            r"offend",
            r"re-?offend",
            r"prison",
            r"gangs?\b",
            r"knife",
            r"county lines",
            r"youth justice",
            r"probation",
            r"violence reduction",
            r"diversion",
        ),
        core=True,
    ),
    Theme(
        "violence_against_women_and_girls",
        "Violence against women and girls",
        (
            r"domestic (?:abuse|violence)",
            r"sexual (?:abuse|violence|assault)",
            r"\brape\b",
            r"women'?s aid",
            r"refuges?\b",
            r"stalking",
            r"coercive control",
            r"\bfgm\b",
            r"female genital",
            r"forced marriage",
            r"honour[- ]based",
            r"survivors? of abuse",
        ),
        core=True,
    ),
    Theme(
        "mental_health",
        "Mental health",
        (
            r"mental (?:health|illness|wellbeing|well-being)",
            r"depress",
            r"anxiety",
            r"suicid",
            r"self[- ]harm",
            r"counsell",
            r"psycholog",
            r"psychotherap",
            r"emotional (?:health|"
            r"wellbeing|well-being|support)",
            r"\bmind\b",
            r"trauma",
        ),
        core=True,
    ),
    Theme(
        "substance_misuse",
        "Substance misuse",
        (
            r"drugs?\b",
            r"alcohol",
            r"addict",
            r"substance (?:mis)?use",
            r"gambling",
        ),
        core=True,
    ),
    Theme(
        "homelessness",
        "Homelessness",
        (
            r"homeless",
            r"rough sleep",
            r"sleeping rough",
            r"hostels?\b",
            r"night shelter",
            r"temporary accommodation",
            r"housing support",
            r"street (?:homeless|outreach)",
        ),
        core=True,
    ),
    Theme(
        "food_poverty",
        "Food poverty",
        (
            r"food ?banks?\b",
            r"food poverty",
            r"hunger",
            r"food parcels?",
            r"community fridge",
            r"food pantry",
            r"free (?:school )?meals",
            r"hot meals",
            r"meals on wheels",
            r"food (?:support|distribution|insecurity|security|delivery|deliveries)",
            r"\bfood\b",
            r"\bmeals?\b",
            r"lunch club",
            r"community (?:kitchen|cafe|café)",
        ),
        core=True,
    ),
    Theme(
        "employability",
        "Employability",
        (
            r"employab",
            r"employment",
            r"\bjobs?\b",
            r"unemploy",
            r"apprentic",
            r"skills (?:training|development)",
            r"work experience",
            r"back to work",
            r"careers?\b",
            r"training for work",
            r"vocational",
            r"enterprise",
            r"\bskills\b",
            r"digital inclusion",
            r"into work",
        ),
        core=True,
    ),
    Theme(
        "older_people",
        "Older people",
        (
            r"older (?:people|persons?|adults?|residents)",
            r"elderly",
            r"pensioners?",
            r"age uk",
            r"dementia",
            r"later life",
            r"over (?:50|55|60|65)s?",
            r"retire",
            r"\bfrail",
        ),
        core=True,
    ),
    Theme(
        "community_safety",
        "Community safety",
        (
            r"community safety",
            r"neighbourhood watch",
            r"street pastors?",
            r"safer (?:streets|"
            r"communities|neighbourhoods)",
            r"anti-?social behaviour",
            r"fire safety",
            r"road safety",
            r"safeguarding",
        ),
        core=True,
    ),
    Theme(
        "disability",
        "Disability",
        (
            r"disab",
            r"learning difficult",
            r"autis",
            r"deaf",
            r"blind",
            r"visually impaired",
            r"wheelchair",
            r"special (?:educational )?needs",
            r"\bsend\b",
        ),
    ),
    Theme(
        "poverty_advice",
        "Poverty and advice",
        (
            r"debt",
            r"benefits? advice",
            r"welfare rights",
            r"citizens advice",
            r"money advice",
            r"financial (?:inclusion|hardship|advice)",
            r"\badvice\b",
            r"\bcab\b",
            r"fuel poverty",
            r"hardship",
            r"poverty",
        ),
    ),
    Theme(
        "carers",
        "Carers",
        (
            r"carers?\b",
            r"caring for",
            r"respite",
        ),
    ),
    Theme(
        "health",
        "Health",
        (
            r"\bhealth",
            r"hospice",
            r"patients?",
            r"cancer",
            r"nhs\b",
            r"medical",
            r"hospital",
            r"palliative",
            r"stroke",
            r"diabetes",
        ),
    ),
    Theme(
        "refugees_migrants",
        "Refugees and migrants",
        (
            r"refugee",
            r"asylum",
            r"migrant",
            r"immigra",
            r"esol\b",
            r"resettle",
        ),
    ),
    Theme(
        "sport_physical_activity",
        "Sport and physical activity",
        (
            r"sport",
            r"football",
            r"cricket",
            r"rugby",
            r"boxing",
            r"athletic",
            r"physical activity",
            r"swimming",
            r"cycling",
            r"fitness",
        ),
    ),
    Theme(
        "community_cohesion",
        "Community cohesion",
        (
            r"cohesion",
            r"community (?:centre|center|hall|hub|association|group)",
            r"isolation",
            r"lonel",
            r"interfaith",
            r"befriend",
        ),
    ),
    Theme(
        "arts_culture",
        "Arts and culture",
        (
            r"\barts?\b",
            r"music",
            r"theatre",
            r"dance",
            r"museum",
            r"heritage",
            r"festival",
            r"choir",
            r"film",
            r"creative",
            r"gallery",
        ),
    ),
    Theme(
        "environment",
        "Environment",
        (
            r"environment",
            r"garden",
            r"allotment",
            r"green space",
            r"nature",
            r"wildlife",
            r"recycl",
            r"climate",
            r"conservation",
            r"tree",
            r"litter",
        ),
    ),
    Theme(
        "education",
        "Education",
        (
            r"school",
            r"education",
            r"learning",
            r"literacy",
            r"numeracy",
            r"tuition",
            r"homework",
            r"college",
            r"university",
            r"pupil",
        ),
    ),
)

VOCABULARY: tuple[str, ...] = tuple(t.slug for t in THEMES)
CORE: frozenset[str] = frozenset(t.slug for t in THEMES if t.core)
LABELS: dict[str, str] = {t.slug: t.label for t in THEMES}

# Older names of themes found in source files, mapped to the vocabulary.
ALIASES: dict[str, str] = {
    "domestic_abuse": "violence_against_women_and_girls",
    "vawg": "violence_against_women_and_girls",
}

_COMPILED = {
    t.slug: re.compile(r"\b(?:" + "|".join(t.patterns) + ")", re.IGNORECASE) for t in THEMES
}
_SAFEGUARDING = re.compile(
    r"\b(?:refuges?\b|safe ?house|domestic (?:abuse|violence)|sexual (?:abuse|violence)|"
    r"women'?s aid|rape crisis)",
    re.IGNORECASE,
)


def _plain(text: pd.Series) -> pd.Series:
    """Text with Unicode normalised and curly quotes made straight ("Women’s Aid")."""
    return (
        text.fillna("")
        .astype(str)
        .str.normalize("NFKC")
        .str.replace("[\u2018\u2019\u02bc]", "'", regex=True)
    )


def classify(text: pd.Series) -> pd.Series:
    """Themes for each text, as sorted lists of vocabulary slugs (empty when none apply)."""
    text = _plain(text)
    hits = pd.DataFrame({slug: text.str.contains(rule) for slug, rule in _COMPILED.items()})
    return hits.apply(lambda row: [slug for slug in VOCABULARY if row[slug]], axis=1)


def needs_safeguarding(text: pd.Series) -> pd.Series:
    """True where the text describes a service whose exact location must never be public
    (refuges, safe houses, domestic and sexual abuse services)."""
    return _plain(text).str.contains(_SAFEGUARDING)


def parse_themes(value: str) -> tuple[list[str], list[str]]:
    """Split a ``;``- or ``,``-separated theme list into (known slugs, unknown names)."""
    known: list[str] = []
    unknown: list[str] = []
    for name in re.split(r"[;,|]", value or ""):
        slug = re.sub(r"[\s-]+", "_", name.strip().lower())
        slug = ALIASES.get(slug, slug)
        if not slug:
            continue
        (known if slug in VOCABULARY else unknown).append(slug)
    return sorted(set(known), key=VOCABULARY.index), unknown
