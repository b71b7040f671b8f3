"""The flag-kind registry (issue 24 point 5): one entry per rule, and every surface reads it.

Adding a rule is one file in ``analysis/rules/`` plus one entry in ``kith.analysis.kinds``: the
second test registers a made-up kind and finds it in the analysis (its rule runs, its flags
resolve with its reason), in ``kith flags`` (its name, and ``--kind`` by id or name), in the
report (a section with its title and advice, its count in the subject) and on the web Today page.
The sample's truth is pinned to the registry in ``tests/sample/test_generator.py``.
"""

from __future__ import annotations

import pkgutil
from collections.abc import Container, Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kith.analysis import kinds
from kith.analysis.api import flags, history
from kith.analysis.kinds import KINDS, FlagKind
from kith.analysis.model import ContactData, Finding
from kith.analysis.rules import __path__ as rules_path
from kith.cli import app
from kith.config.models import AnalysisConfig
from kith.report.api import build_report, render_report
from kith.store.engine import Store, open_store
from kith.web import data as web
from tests.analysis.world import NOW, World, ago

#: Modules of analysis/rules that are not flag rules: the automated-sender classifier.
NOT_FLAG_RULES = {"automated"}


def test_every_rule_module_has_one_entry_and_every_entry_a_rule() -> None:
    modules = {m.name for m in pkgutil.iter_modules(rules_path)} - NOT_FLAG_RULES
    assert {k.rule.__module__ for k in KINDS} == {f"kith.analysis.rules.{m}" for m in modules}
    for k in KINDS:
        assert k.rule.__name__ == k.id, "a rule is named for the kind it finds"


def test_ids_names_and_sections_are_distinct_and_each_spelling_finds_its_kind() -> None:
    for attr in ("id", "name", "section", "title"):
        values = [getattr(k, attr) for k in KINDS]
        assert len(set(values)) == len(values), attr
    for k in KINDS:
        for spelling in (k.id, k.name, k.name.upper(), k.name.replace(" ", "-"), k.id.replace("_", " "), f" {k.id} "):
            assert kinds.lookup(spelling) is k, spelling
        assert kinds.by_section(k.section) is k
        assert k.title and k.advice and k.tally and k.gone
    assert kinds.lookup("nosuch") is None
    assert kinds.lookup("") is None


GHOST = "ghost@far.example"


def _ghosted(
    data: ContactData, cfg: AnalysisConfig, now: datetime, flagged: Container[str] | None = None, /
) -> list[Finding]:
    """The made-up rule: a contact called ghost is ghosting me, while ``ACTIVE`` says so."""
    if data.address != GHOST or not ACTIVE[0]:
        return []
    first = min(m.time for m in data.mails)
    return [Finding(kind="ghosted", key=f"ghosted:{GHOST}", since=first, evidence={"silent_days": 9}, mark="1")]


ACTIVE = [True]
GHOSTED = FlagKind(
    id="ghosted",
    name="ghosted",
    title="Gone quiet",
    advice="They stopped answering. Ask once, kindly, then let it be.",
    tally="gone quiet",
    gone="they are back",
    rule=_ghosted,
)


@pytest.fixture
def registered(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(kinds, "KINDS", (*KINDS, GHOSTED))
    ACTIVE[0] = True
    yield


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    store = open_store(f"sqlite:///{tmp_path / 'kith.db'}")
    yield store
    store.dispose()


def test_a_new_kind_reaches_every_surface(registered: None, sqlite_store: Store, tmp_path: Path) -> None:
    w = World(sqlite_store)
    w.mail(GHOST, when=ago(9), subject="one")
    w.mail("friend@near.example", when=ago(8), subject="two")
    w.analyze()

    # the analysis ran the rule and stored its flag
    with sqlite_store.session() as s:
        found = flags(s, now=NOW)
    ghosted = [f for f in found if f["kind"] == "ghosted"]
    assert [f["contact"]["address"] for f in ghosted] == [GHOST]
    assert found[-1]["kind"] == "ghosted", "listed in the registry's order: the new kind last"

    # the CLI: its name in the listing, --kind by id or name (any case)
    toml = tmp_path / "kith.toml"
    toml.write_text(f'[me]\naddresses = ["me@work.example"]\n[database]\npath = "{tmp_path / "kith.db"}"\n')
    runner = CliRunner()
    listing = runner.invoke(app, ["--config", str(toml), "flags"], catch_exceptions=False)
    assert listing.exit_code == 0, listing.output
    assert "ghosted" in listing.stdout and GHOST in listing.stdout
    for spelling in ("ghosted", "Ghosted"):
        res = runner.invoke(app, ["--config", str(toml), "flags", "--kind", spelling, "--json"], catch_exceptions=False)
        assert res.exit_code == 0, res.output
        assert '"kind": "ghosted"' in res.stdout and "unanswered" not in res.stdout

    # the report: a section with its title and advice, its count in the subject
    with sqlite_store.session() as s:
        report = build_report(s, w.config, day=date(2026, 6, 1), now=NOW)
    section = next(x for x in report["sections"] if x["kind"] == "ghosted")
    assert (section["key"], section["title"], section["total"]) == ("ghosted", "Gone quiet", 1)
    assert section["command"] == "kith flags --kind ghosted"
    rendered = render_report(report, timezone="UTC")
    for part in (rendered.text, rendered.html):
        assert "Gone quiet".upper() in part.upper() and GHOSTED.advice in part and GHOST in part
    assert "1 gone quiet" in rendered.subject

    # the web Today page: its own group, in the registry's order
    with sqlite_store.session() as s:
        today = web.today(s, w.config, NOW)
    assert [g["key"] for g in today] == [k.section for k in kinds.KINDS]
    group = today[-1]
    assert group["title"] == "Gone quiet" and [i["contact"]["address"] for i in group["items"]] == [GHOST]
    assert group["items"][0]["reason"] == GHOSTED.advice

    # the web Person page names each flag as the CLI does (it once printed the id)
    with sqlite_store.session() as s:
        page = web.person(s, w.config, GHOST, NOW)
    assert {f["kind"]: f["name"] for f in page["flags"]} == {"unanswered": "respond", "ghosted": "ghosted"}

    # the lifecycle: when the rule no longer finds it, it resolves with the kind's reason
    ACTIVE[0] = False
    w.mail(GHOST, when=ago(1), subject="back")  # touches the contact: it is evaluated again
    w.analyze(NOW + timedelta(hours=1))
    with sqlite_store.session() as s:
        assert history(s, ghosted[0]["id"])["history"][-1]["reason"] == "they are back"


@pytest.mark.parametrize("spelling", ["respond", "Respond", "pull back", "pull-back", "PULL_BACK", "broadcast only"])
def test_kind_accepts_display_names(spelling: str) -> None:
    """`kith flags` shows these names; `--kind` once refused them (issue 23 point 2)."""
    from kith.cli.analysis import flag_kind

    assert flag_kind(spelling) == kinds.lookup(spelling).id  # type: ignore[union-attr]
