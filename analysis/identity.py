"""Who is who: address normalisation, my own addresses, and aliases merging addresses into one contact.

Normalisation is deliberately conservative. Case is folded (every real provider treats the local
part case-insensitively, whatever RFC 5321 allows) and Unicode is NFKC-normalised. Dots and
``+tags`` in the local part are removed only for domains where the provider documents that they
do not matter (Gmail); elsewhere ``a.b@x`` and ``ab@x`` may be two people.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any


def normalise(address: str, gmail_domains: frozenset[str] = frozenset()) -> str:
    a = unicodedata.normalize("NFKC", address).strip().strip("<>").strip().lower()
    local, at, domain = a.rpartition("@")
    if not at:
        return a
    if domain in gmail_domains:
        local = local.split("+", 1)[0].replace(".", "")
        domain = "gmail.com"
    return f"{local}@{domain}"


@dataclass(frozen=True)
class Identities:
    """My addresses and the alias map, normalised once; ``canon`` is on the hot path, so it caches."""

    me: frozenset[str]
    aliases: Mapping[str, str] = field(default_factory=dict)
    gmail_domains: frozenset[str] = frozenset()
    _cache: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def build(
        cls, me: Iterable[str], aliases: Mapping[str, Iterable[str]] | None = None, gmail_domains: Iterable[str] = ()
    ) -> Identities:
        gd = frozenset(d.lower() for d in gmail_domains)
        amap: dict[str, str] = {}
        for canonical, others in (aliases or {}).items():
            c = normalise(canonical, gd)
            for o in others:
                amap[normalise(o, gd)] = c
        mine = {amap.get(normalise(a, gd), normalise(a, gd)) for a in me if a}
        return cls(frozenset(mine), amap, gd)

    def canon(self, address: str | None) -> str:
        if not address:
            return ""
        hit = self._cache.get(address)
        if hit is None:
            n = normalise(address, self.gmail_domains)
            hit = self._cache[address] = self.aliases.get(n, n)
        return hit

    def is_me(self, address: str | None) -> bool:
        return self.canon(address) in self.me

    def fingerprint(self) -> str:
        """Changes when the config changes who is who; the analysis then rebuilds."""
        doc: Any = [sorted(self.me), sorted(self.aliases.items()), sorted(self.gmail_domains)]
        return hashlib.sha1(json.dumps(doc).encode()).hexdigest()[:16]


def identities_from(config: Any) -> Identities:
    """[me] addresses plus every mailbox's own, and ``[analysis] aliases``."""
    settings = config.settings
    me = [*settings.me.addresses, *(a for mb in config.mailboxes for a in mb.addresses)]
    return Identities.build(me, settings.analysis.aliases, settings.analysis.gmail_domains)


__all__ = ["Identities", "identities_from", "normalise"]
