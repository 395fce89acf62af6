"""Delivery (`python -m metrics notify`): new warnings, and the meeting packet once a month
closes, to subscribers by e-mail (SMTP) and WeCom / DingTalk group robots, each message to
each subscriber once (the delivery log), failures retried by the next run.

The parts: `subscribers` (the versioned document), `config` (SMTP, sender, public URL),
`senders` (the only network code), `compose` (the words), `deliveries` (the log) and `run`.
Nothing here runs at import or on a page load; the network is reached inside `notify` only.
Decisions: docs/decisions/0014-warnings-and-delivery.md.
"""

from metrics.notify import config, deliveries, senders, subscribers
from metrics.notify.config import Config
from metrics.notify.run import Delivery, NotifyError, notify, packet_key, warning_key
from metrics.notify.subscribers import Subscriber, SubscriberError

__all__ = [
    "Config",
    "Delivery",
    "NotifyError",
    "Subscriber",
    "SubscriberError",
    "config",
    "deliveries",
    "notify",
    "packet_key",
    "senders",
    "subscribers",
    "warning_key",
]
