"""A synced and analysed kith.sample corpus, and how to score the analysis against its truth."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kith.analysis.api import analyze, contacts, flags
from kith.analysis.kinds import KINDS
from kith.cli.demo_pipeline import write_demo_config
from kith.config.load import Config, load_config
from kith.daemon.sync import sync_mailboxes
from kith.sample import generate, load_truth
from kith.sample.generator import Truth
from kith.store.engine import Store, open_store

#: Every flag kind; the sample's truth holds each (tests/sample pins them together).
RULES = tuple(k.id for k in KINDS)


@dataclass
class Corpus:
    config: Config
    store: Store
    truth: Truth
    info: Any


def build(directory: Path, *, seed: int, messages: int, url: str | None = None) -> Corpus:
    info = generate(directory / "sample", seed=seed, messages=messages)
    config = load_config(write_demo_config(directory, info))
    store = open_store(url or f"sqlite:///{directory / 'kith.db'}")
    sync_mailboxes(config, store)
    with store.session() as s:
        analyze(s, config, now=info.now)
    return Corpus(config, store, load_truth(info.truth_path), info)


def found(c: Corpus) -> dict[str, set[str]]:
    with c.store.session() as s:
        open_flags = flags(s, now=c.truth.now)
        people = contacts(s, automated=None)
    # what the truth names: the message waiting (unanswered), else the contact
    out: dict[str, set[str]] = {
        rule: {f["message_id"] or f["contact"]["address"] for f in open_flags if f["kind"] == rule} for rule in RULES
    }
    out["automated"] = {p["address"] for p in people if p["automated"]}
    out["human"] = {p["address"] for p in people if not p["automated"]}
    return out


def score(got: set[str], truth: frozenset[str]) -> tuple[float, float, int, int, int]:
    tp = len(got & truth)
    fp = len(got - truth)
    fn = len(truth - got)
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    return precision, recall, tp, fp, fn
