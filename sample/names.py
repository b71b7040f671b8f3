"""Realistic-looking names, domains and subjects (including non-ASCII names) for sample mail."""

from __future__ import annotations

import random
import unicodedata

from kith.sample.model import Person

FIRST = [
    "Anna",
    "Ben",
    "Chloé",
    "Daniel",
    "Eva",
    "Farid",
    "Greta",
    "Hannah",
    "Ivan",
    "Julia",
    "Karim",
    "Lena",
    "Mateo",
    "Nina",
    "Omar",
    "Paula",
    "Quentin",
    "Rosa",
    "Sven",
    "Tara",
    "Ugo",
    "Vera",
    "Wei",
    "Ximena",
    "Yusuf",
    "Zoë",
    "Åsa",
    "Björn",
    "Çelik",
    "Dörte",
    "Émile",
    "Łukasz",
    "Søren",
    "Zoltán",
    "Marta",
    "Jonas",
    "Priya",
    "Kenji",
    "Amara",
    "Luca",
    "Ingrid",
    "Tomás",
    "Aiko",
    "Noah",
    "Leila",
    "Felix",
    "Olga",
    "Rahul",
    "Sofia",
    "Malik",
    "Jana",
]
LAST = [
    "Müller",
    "Schmidt",
    "García",
    "Rossi",
    "Dubois",
    "Nowak",
    "Andersson",
    "Jensen",
    "Novák",
    "Kowalski",
    "Silva",
    "Santos",
    "Tanaka",
    "Kim",
    "Nguyen",
    "Okafor",
    "Haddad",
    "Ivanova",
    "Petrov",
    "O'Brien",
    "MacLeod",
    "Fischer",
    "Weber",
    "Becker",
    "Hoffmann",
    "Martin",
    "Bernard",
    "Moreau",
    "Laurent",
    "Lefèvre",
    "Łęcki",
    "Ødegaard",
    "Ångström",
    "Yılmaz",
    "Öztürk",
    "Horváth",
    "Kovács",
    "Papadopoulos",
    "Costa",
    "Ferreira",
    "Cohen",
    "Levi",
]
COMPANIES = [
    "acme",
    "northwind",
    "globex",
    "initech",
    "umbrella",
    "stark",
    "wayne",
    "tyrell",
    "cyberdyne",
    "hooli",
    "piedpiper",
    "vandelay",
    "wonka",
    "soylent",
    "oscorp",
    "aperture",
    "blackmesa",
    "massive",
    "gringotts",
]
TLDS = ("com", "io", "de", "fr", "co.uk", "example")
SUBJECTS = (
    "Project timeline",
    "Contract draft",
    "Quick question",
    "Lunch next week?",
    "Intro: you two should meet",
    "Budget for Q3",
    "Feedback on the proposal",
    "Offsite planning",
    "Hiring update",
    "Customer escalation",
    "Board deck",
    "Thank you!",
    "Follow-up from our call",
    "Pricing",
    "Café next Tuesday?",
    "Überblick Q4",
    "Partnership idea",
    "Invoice 2026-0413",
    "Conference in Lisbon",
    "Roadmap review",
)


def company_domain(rng: random.Random) -> str:
    return f"{rng.choice(COMPANIES)}{rng.randint(1, 99)}.{rng.choice(TLDS)}"


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower().replace("'", "")


def person(rng: random.Random, domain: str, taken: set[str] | None = None) -> Person:
    """A person with a unique address at ``domain``."""
    for _ in range(1000):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        local = rng.choice((f"{_ascii(first)}.{_ascii(last)}", f"{_ascii(first)[0]}{_ascii(last)}", _ascii(first)))
        address = f"{local}@{domain}"
        if taken is None or address not in taken:
            if taken is not None:
                taken.add(address)
            return Person(address, f"{first} {last}")
    raise RuntimeError("address space exhausted")
