"""kith.sample: deterministic sample mailboxes (Maildir + .ics) with ground-truth labels.

``generate(out_dir, seed=, messages=, now=, bodies=, contacts=)`` writes one Maildir tree per
mailbox, one .ics per mailbox and ``truth.json``; ``load_truth`` reads the truth back.
"""

from __future__ import annotations

from kith.sample.generator import DEFAULT_NOW, SampleInfo, SampleMailbox, Truth, generate, load_truth

__all__ = ["DEFAULT_NOW", "SampleInfo", "SampleMailbox", "Truth", "generate", "load_truth"]
