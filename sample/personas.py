"""Scripted correspondents: each persona writes the history that one rule of DESIGN.md must find
(or, for the decoys, must not find), and records what it planted in ``World.intent``.

Every script keeps clear of the other rules on purpose, so the truth is unambiguous: steady
colleagues' threads always end with my reply, drifting contacts stop more than 60 days ago after
my last reply, cold outreach never gets an answer, broadcast recipients never get a personal
message, and so on.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from kith.sample.model import Meeting, Msg, Person, World
from kith.sample.names import SUBJECTS, company_domain, person

DAY = timedelta(days=1)


class Ids:
    """Deterministic Message-IDs and UIDs."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.n = 0

    def msgid(self, domain: str) -> str:
        self.n += 1
        return f"<{self.n}.{self.rng.getrandbits(40):010x}@{domain}>"

    def uid(self) -> str:
        self.n += 1
        return f"{self.n}-{self.rng.getrandbits(32):08x}@kith.sample"


class Script:
    def __init__(self, world: World, rng: random.Random, ids: Ids) -> None:
        self.w = world
        self.rng = rng
        self.ids = ids

    def subject(self, other: Person) -> str:
        """Subjects name the correspondent, so my replies never look like a mail merge."""
        return f"{self.rng.choice(SUBJECTS)} – {other.name.split()[0]}"

    def intent(self, rule: str, value: str) -> None:
        self.w.intent.setdefault(rule, set()).add(value)

    def send(self, mailbox: str, msg: Msg) -> Msg:
        self.w.messages.append(msg)
        return msg

    # -- building blocks ---------------------------------------------------------------------

    def thread(
        self,
        mailbox: str,
        other: Person,
        start: datetime,
        length: int,
        *,
        inbound_first: bool,
        gap: timedelta,
        end_with_me: bool = True,
        cc: tuple[Person, ...] = (),
        subject: str | None = None,
        reply_from: Person | None = None,
        reply_mailbox: str | None = None,
    ) -> list[Msg]:
        """Alternating messages in one thread; when it must end with me, an inbound tail is answered."""
        me = self.w.me[mailbox]
        subject = subject or self.subject(other)
        out: list[Msg] = []
        refs: list[str] = []
        inbound = inbound_first
        n = length + (1 if end_with_me and (inbound_first == (length % 2 == 1)) else 0)
        t = start
        tz = self.rng.choice((0, 60, -300, 330, -480, 120))
        for i in range(n):
            mid = self.ids.msgid(other.address.split("@")[1] if inbound else me.address.split("@")[1])
            subj = subject if i == 0 else f"Re: {subject}"
            if inbound:
                msg = Msg(mailbox, "", t, mid, other, (me,), subj, cc=cc, tz_minutes=tz)
            else:
                sender = reply_from or me
                box = reply_mailbox or mailbox
                # no Cc on my replies: an outbound Cc is an interaction with that colleague too
                msg = Msg(box, "Sent", t, mid, sender, (other,), subj, outbound=True)
            if refs:
                msg.in_reply_to, msg.references = refs[-1], tuple(refs[-10:])
            msg.thread = refs[0] if refs else mid
            refs.append(mid)
            if out and not inbound and not out[-1].outbound:
                out[-1].answered = True  # I replied from my client: it set \Answered
            out.append(self.send(msg.mailbox, msg))
            inbound = not inbound
            t = t + gap * self.rng.uniform(0.3, 1.0)
        return out

    # -- personas ----------------------------------------------------------------------------

    def steady(self, mailbox: str, other: Person, threads: int, colleagues: list[Person]) -> int:
        """A colleague or client: threads all year, the last a few days ago, all answered."""
        now = self.w.now
        span = 330
        count = 0
        for k in range(threads):
            start = now - timedelta(days=span * (threads - k) / threads) + timedelta(hours=self.rng.uniform(0, 20))
            if k == threads - 1:  # recent, and over (my reply sent) before now
                start = now - timedelta(days=self.rng.uniform(6, 8))
            cc = tuple(self.rng.sample(colleagues, k=min(len(colleagues), self.rng.choice((0, 0, 1, 2)))))
            cc = tuple(c for c in cc if c != other)
            msgs = self.thread(
                mailbox,
                other,
                start,
                self.rng.choice((2, 2, 3, 4)),
                inbound_first=self.rng.random() < 0.5,
                gap=timedelta(hours=20),
                cc=cc,
            )
            count += len(msgs)
        self.w.stages[other.address] = "continuation"
        return count

    def weekly_meeting(self, mailbox: str, other: Person) -> None:
        me = self.w.me[mailbox]
        first = (self.w.now - timedelta(days=300)).replace(hour=9, minute=0, second=0, microsecond=0)
        self.w.meetings.setdefault(mailbox, []).append(
            Meeting(self.ids.uid(), first, 30, me, (me, other), summary=f"1:1 {other.name}", weekly_count=40)
        )

    def meeting(self, mailbox: str, when: datetime, attendees: tuple[Person, ...], **kw: object) -> None:
        me = self.w.me[mailbox]
        self.w.meetings.setdefault(mailbox, []).append(
            Meeting(self.ids.uid(), when.replace(second=0, microsecond=0), 45, attendees[0], (me, *attendees), **kw)  # type: ignore[arg-type]
        )

    def drifting(self, mailbox: str, other: Person, *, future_meeting: bool = False) -> None:
        """Two-way for months, then silence for more than 60 days after my last reply."""
        last = self.w.now - timedelta(days=self.rng.uniform(75, 150))
        start = last - timedelta(days=self.rng.uniform(100, 160))
        for k in range(3):
            t = start + (last - start) * k / 3
            self.thread(mailbox, other, t, 2, inbound_first=True, gap=timedelta(days=1))
        if future_meeting:
            self.meeting(mailbox, self.w.now + timedelta(days=self.rng.uniform(5, 20)), (other,), summary="Catch-up")
            self.w.stages[other.address] = "continuation"
        else:
            self.intent("reconnect", other.address)
            self.w.stages[other.address] = "deterioration"

    def cold_outreach(self, mailbox: str, other: Person, *, answered: bool = False) -> None:
        """Three or four personal messages of mine over weeks, no answer (decoy: an answer)."""
        me = self.w.me[mailbox]
        n = self.rng.choice((3, 4))
        # the answered decoy is recent: it becomes a young two-way contact, not an overdue one
        t = self.w.now - timedelta(days=self.rng.uniform(30, 90) if not answered else self.rng.uniform(11, 12))
        subject = self.subject(other)
        prev: str | None = None
        for i in range(n):
            mid = self.ids.msgid(me.address.split("@")[1])
            msg = Msg(mailbox, "Sent", t, mid, me, (other,), subject if i == 0 else f"Re: {subject}", outbound=True)
            if prev:
                msg.in_reply_to, msg.references = prev, (prev,)
            self.send(mailbox, msg)
            prev = mid
            if answered and i == 1:
                reply = Msg(
                    mailbox,
                    "",
                    t + timedelta(days=2),
                    self.ids.msgid(other.address.split("@")[1]),
                    other,
                    (me,),
                    f"Re: {subject}",
                )
                reply.in_reply_to, reply.references = mid, (mid,)
                self.send(mailbox, reply)
                prev = reply.message_id
                t += timedelta(days=2)
                msg = Msg(
                    mailbox,
                    "Sent",
                    t + timedelta(hours=3),
                    self.ids.msgid(me.address.split("@")[1]),
                    me,
                    (other,),
                    f"Re: {subject}",
                    outbound=True,
                )
                msg.in_reply_to, msg.references = prev, (prev,)
                reply.answered = True
                self.send(mailbox, msg)
                prev = msg.message_id
                break
            t += timedelta(days=self.rng.uniform(8, 14) if not answered else 3)
        if not answered:
            self.intent("one_sided", other.address)
            self.w.stages[other.address] = "acquaintance"

    def waiting(self, mailbox: str, other: Person, variant: str) -> None:
        """Someone wrote me personally; ``variant`` decides whether it still waits for me."""
        me = self.w.me[mailbox]
        age = self.rng.uniform(3, 40) if variant != "recent" else self.rng.uniform(0.1, 1.5)
        t = self.w.now - timedelta(days=age)
        subject = self.subject(other)
        to, cc = (
            ((me,), ()) if variant != "cc_only" else ((Person("team@" + other.address.split("@")[1], "Team"),), (me,))
        )
        first = Msg(
            mailbox, "", t, self.ids.msgid(other.address.split("@")[1]), other, to, subject, cc=cc, tz_minutes=-300
        )
        first.thread = first.message_id
        self.send(mailbox, first)
        later = t + timedelta(hours=self.rng.uniform(4, 30))
        if variant in ("plain", "recent", "cc_only"):
            if variant == "plain":
                self.intent("unanswered", first.message_id)
        elif variant == "auto_reply":
            auto = Msg(
                mailbox,
                "Sent",
                t + timedelta(minutes=1),
                self.ids.msgid(me.address.split("@")[1]),
                me,
                (other,),
                f"Out of office: {subject}",
                outbound=True,
                automated=True,
            )
            auto.in_reply_to, auto.references = first.message_id, (first.message_id,)
            auto.headers = (("Auto-Submitted", "auto-replied"),)
            self.send(mailbox, auto)
            self.intent("unanswered", first.message_id)
        elif variant == "other_address":
            other_box = next(b for b in self.w.me if b != mailbox)
            reply = Msg(
                other_box,
                "Sent",
                later,
                self.ids.msgid(self.w.me[other_box].address.split("@")[1]),
                self.w.me[other_box],
                (other,),
                f"Re: {subject}",
                outbound=True,
            )
            reply.in_reply_to, reply.references = first.message_id, (first.message_id,)
            self.send(other_box, reply)
        elif variant == "new_thread":
            self.send(
                mailbox,
                Msg(
                    mailbox,
                    "Sent",
                    later,
                    self.ids.msgid(me.address.split("@")[1]),
                    me,
                    (other,),
                    "Following up on your note",
                    outbound=True,
                ),
            )
        elif variant == "meeting":
            self.meeting(mailbox, later, (other,), summary=f"Call with {other.name}")
        elif variant == "flag_only":
            first.answered = True
        self.w.stages.setdefault(other.address, "acquaintance")

    def broadcast_campaigns(self, mailbox: str, recipients: list[Person], campaigns: int) -> None:
        """Mail merges (one message per person, same subject, within hours) and one big Bcc blast."""
        me = self.w.me[mailbox]
        for c in range(campaigns):
            t = self.w.now - timedelta(days=20 + c * 35 + self.rng.uniform(0, 5))
            subject = (
                f"{self.rng.choice(('Quarterly update', 'Product news', 'Invitation', 'Season greetings'))} #{c + 1}"
            )
            for i, r in enumerate(recipients):
                msg = Msg(
                    mailbox,
                    "Sent",
                    t + timedelta(minutes=3 * i),
                    self.ids.msgid(me.address.split("@")[1]),
                    me,
                    (r,),
                    subject,
                    outbound=True,
                    broadcast=True,
                )
                self.send(mailbox, msg)
        if len(recipients) >= 10:  # a broadcast by size needs at least ten recipients
            blast = Msg(
                mailbox,
                "Sent",
                self.w.now - timedelta(days=10),
                self.ids.msgid(me.address.split("@")[1]),
                me,
                (me,),
                "We are hiring!",
                bcc=tuple(recipients),
                outbound=True,
                broadcast=True,
            )
            self.send(mailbox, blast)
        for r in recipients:
            self.intent("broadcast_only", r.address)
            self.w.stages[r.address] = "acquaintance"

    def automated(self, mailbox: str, sender: Person, kind: str, per_month: float) -> int:
        me = self.w.me[mailbox]
        domain = sender.address.split("@")[1]
        headers: tuple[tuple[str, str], ...]
        if kind == "newsletter":
            headers = (
                ("List-Id", f"{sender.name} <news.{domain}>"),
                ("List-Unsubscribe", f"<mailto:unsubscribe@{domain}>"),
                ("Precedence", "bulk"),
            )
        elif kind == "notification":
            headers = (("Auto-Submitted", "auto-generated"),)
        elif kind == "bounce":
            headers = (("Return-Path", "<>"), ("Auto-Submitted", "auto-replied"))
        else:  # a person posting to a mailing list I am on
            headers = (
                ("List-Id", f"Friends of {domain} <friends.{domain}>"),
                ("List-Post", f"<mailto:friends@{domain}>"),
            )
        n = max(2, int(per_month * 12))
        to = (me,) if kind != "list" else (Person(f"friends@{domain}", "Friends"),)
        for i in range(n):
            t = self.w.now - timedelta(days=360 * (n - i) / n) + timedelta(hours=self.rng.uniform(0, 12))
            subject = f"{sender.name}: {self.rng.choice(SUBJECTS)}"
            msg = Msg(
                mailbox,
                "" if i % 3 else "Archive",
                t,
                self.ids.msgid(domain),
                sender,
                to,
                subject,
                headers=headers,
                automated=True,
            )
            self.send(mailbox, msg)
        self.intent("automated", sender.address)
        return n

    def noise(self, mailbox: str, rng: random.Random) -> None:
        """Junk, trash, drafts (skipped by default) and malformed or oddly dated mail (kept)."""
        me = self.w.me[mailbox]
        for folder in ("Junk", "Trash", "Drafts"):
            for _ in range(3):
                p = person(rng, company_domain(rng))
                self.send(
                    mailbox,
                    Msg(
                        mailbox,
                        folder,
                        self.w.now - timedelta(days=rng.uniform(1, 300)),
                        self.ids.msgid("spam.example"),
                        p,
                        (me,),
                        "You have won",
                    ),
                )
        odd = person(rng, "oddclock.example")
        future = Msg(
            mailbox,
            "Archive",
            self.w.now + timedelta(days=3),
            self.ids.msgid("oddclock.example"),
            odd,
            (Person("all@oddclock.example", "All"),),
            "Clock is wrong",
            cc=(me,),
            future_date=True,
        )
        self.send(mailbox, future)
        for broken in ("charset", "nodate"):
            p = person(rng, company_domain(rng))
            msg = Msg(
                mailbox,
                "Archive",
                self.w.now - timedelta(days=rng.uniform(5, 200)),
                self.ids.msgid("broken.example"),
                p,
                (Person("list@broken.example", "L"),),
                "Broken headers",
                cc=(me,),
                broken=broken,
            )
            self.send(mailbox, msg)
