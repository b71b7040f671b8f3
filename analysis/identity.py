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
        cls,
        me: Iterable[str],
        aliases: Mapping[str, Iterable[str]] | None = None,
        gmail_domains: Iterable[str] = (),
        merges: Iterable[tuple[str, str]] = (),
    ) -> Identities:
        """``merges``: (address, target) pairs, oldest first, each joining every address of
        ``address``'s contact to ``target``'s (the web app's *Merge*, kept in the store)."""
        gd = frozenset(d.lower() for d in gmail_domains)
        amap: dict[str, str] = {}
        for canonical, others in (aliases or {}).items():
            c = normalise(canonical, gd)
            for o in others:
                amap[normalise(o, gd)] = c
        amap = _merged(amap, merges, gd)
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


def _merged(amap: dict[str, str], merges: Iterable[tuple[str, str]], gd: frozenset[str]) -> dict[str, str]:
    """The alias map with the stored merges applied on top of the configured aliases.

    A merge moves a whole contact: the address merged away and every alias that pointed at it.
    A merge into a contact that was itself merged away follows it to where it went; one that
    would close a circle (A into B after B into A) is ignored, so every address has one owner.
    """
    out = dict(amap)

    def owner(a: str) -> str:
        seen = {a}
        while a in out and out[a] not in seen:
            a = out[a]
            seen.add(a)
        return a

    for address, target in merges:
        src, dst = owner(normalise(address, gd)), owner(normalise(target, gd))
        if src == dst:
            continue
        out[src] = dst
        for k, v in list(out.items()):
            if v == src:
                out[k] = dst
    return {k: owner(v) for k, v in out.items()}


def identities_from(config: Any, merges: Iterable[tuple[str, str]] = ()) -> Identities:
    """[me] addresses plus every mailbox's own, ``[analysis] aliases`` and the stored merges."""
    settings = config.settings
    me = [*settings.me.addresses, *(a for mb in config.mailboxes for a in mb.addresses)]
    return Identities.build(me, settings.analysis.aliases, settings.analysis.gmail_domains, merges)


__all__ = ["Identities", "identities_from", "normalise"]
