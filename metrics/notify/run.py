"""One delivery run (`python -m metrics notify`): the warnings each subscriber has not had
yet, and the packet of the latest closed month (or --period) once, to every subscriber;
each message recorded in the delivery log (deliveries) so that a run never sends one twice
and retries what failed. Runs hold the store's `notify` lock: two at once cannot double."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

from metrics import alerts, review
from metrics.alerts import Warning
from metrics.deadlines import is_closed, latest_closed, store_now
from metrics.i18n import Refusal, t
from metrics.notify import compose, senders
from metrics.notify.config import Config
from metrics.notify.deliveries import Log
from metrics.notify.subscribers import Subscriber, load
from metrics.periods import Period, now
from metrics.store import Store, StoreVersion

log = logging.getLogger(__name__)
TRUNCATED = "notify_truncated"


class NotifyError(Refusal):
    """A run that cannot start; `key` names its message."""


@dataclass
class Delivery:
    """One message to one subscriber in a run: what it carries and what became of it."""

    subscriber: str
    kind: str
    target: str  # as shown (no access token)
    what: str  # "warnings" or "packet"
    keys: list[str] = field(default_factory=list)  # message keys it carries
    status: str = "would_send"  # would_send (--dry-run), sent, failed
    error: str = ""

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def warning_key(w: Warning) -> str:
    """A warning's message key: its id and level, so a warning that turns from amber to red
    is sent again, once."""
    return f"warning:{w.id}:{w.level}"


def packet_key(period: Period) -> str:
    return f"packet:{period.code}"


# The community a subscriber is held to because it is a clerk's e-mail (None: not a clerk).
ClerkOf = Callable[[Subscriber], str | None]


@dataclass
class _Run:
    store: Store
    cfg: Config
    period: Period
    dry_run: bool
    log: Log
    version: StoreVersion
    _packet: tuple[review.Review, bytes] | None = None

    def packet(self) -> tuple[review.Review, bytes]:
        if self._packet is None:
            from metrics import report  # fpdf2 loads only when a packet goes out

            data = review.review(self.store, self.period, self.version)
            pdf = report.build_report(self.store, self.period, "pdf", data.token)
            self._packet = (data, pdf)
        return self._packet


def notify(
    store: Store,
    cfg: Config,
    clerk_of: ClerkOf,
    period: Period | None = None,
    *,
    dry_run: bool = False,
) -> list[Delivery]:
    """Send what is due (see the module docstring); with `dry_run`, only say what would go."""
    with store.try_lock("notify") as held:
        if not held:
            raise NotifyError("notify_busy")
        at = store_now(store)
        version, tg = review.pin(store)
        if period is not None and not is_closed(period, at, tg.deadline_day):
            raise NotifyError("notify_period_open", period=period.label())
        chosen = period or latest_closed("month", at, tg.deadline_day)
        run = _Run(store, cfg, chosen, dry_run, Log(store), version)
        found = alerts.evaluate(store, version, at)
        out: list[Delivery] = []
        for subscriber in load(store):
            clerk = clerk_of(subscriber)
            communities = (clerk,) if clerk else subscriber.communities
            if "warnings" in subscriber.what:
                mine = [w for w in found if not communities or w.community_id in communities]
                due = [w for w in mine if not run.log.delivered(subscriber.id, warning_key(w))]
                if due:
                    out.append(_deliver(run, subscriber, "warnings", due))
            key = packet_key(run.period)
            wants = "packet" in subscriber.what and not communities
            if wants and not run.log.delivered(subscriber.id, key):
                out.append(_deliver(run, subscriber, "packet", []))
        return out


def _deliver(run: _Run, s: Subscriber, what: str, due: Sequence[Warning]) -> Delivery:
    keys = [warning_key(w) for w in due] if what == "warnings" else [packet_key(run.period)]
    done = Delivery(s.id, s.kind, s.shown(), what, keys)
    if run.dry_run:
        return done
    # The attempt first, the outcome after the send returned: see deliveries.
    run.log.record(s.id, keys, "attempt", now())
    try:
        _send(run, s, what, due)
    except (senders.SendError, ValueError) as exc:
        done.status, done.error = "failed", str(exc)
        log.warning("notify: %s to %s (%s) failed: %s", what, s.id, s.shown(), exc)
        run.log.record(s.id, keys, "failed", now(), str(exc))
        return done
    done.status = "sent"
    run.log.record(s.id, keys, "sent", now())
    return done


def _send(run: _Run, s: Subscriber, what: str, due: Sequence[Warning]) -> None:
    cfg = run.cfg
    if s.kind == "email":
        if what == "warnings":
            subject, body = compose.warnings_email(due, cfg)
            senders.send_email(cfg.smtp, cfg.sender, s.target, subject, body)
        else:
            data, pdf = run.packet()
            subject, body = compose.packet_email(data, cfg)
            name = f"例会报告-{run.period.code}.pdf"
            senders.send_email(cfg.smtp, cfg.sender, s.target, subject, body, (name, pdf))
        return
    if what == "warnings":
        title, text = compose.warnings_markdown(due, cfg)
    else:
        title, text = compose.packet_markdown(run.packet()[0], cfg)
    text = senders.fit(text, senders.LIMITS[s.kind], t(TRUNCATED, compose.LANG))
    if s.kind == "wecom":
        senders.post_robot(s.target, senders.wecom_payload(text))
    else:
        # DingTalk checks the signature's time against its own clock: the wall clock,
        # not the dashboard's (GOVDASH_NOW may set that to another day).
        url = (
            senders.signed_url(s.target, s.secret, int(time.time() * 1000))
            if s.secret
            else s.target
        )
        senders.post_robot(url, senders.dingtalk_payload(title, text))
