"""The words of a delivery: warnings and the meeting packet as an e-mail (subject, plain
text) and as a robot's markdown (title, text), in Chinese, the readers' language."""

from __future__ import annotations

from collections.abc import Sequence

from metrics.alerts import Warning
from metrics.i18n import fmt_number, t
from metrics.notify.config import Config
from metrics.review import Review

LANG = "zh"


def _counts(warnings: Sequence[Warning]) -> dict[str, int]:
    return {lv: sum(w.level == lv for w in warnings) for lv in ("red", "amber")}


def warnings_email(warnings: Sequence[Warning], cfg: Config) -> tuple[str, str]:
    subject = t("notify_warnings_subject", LANG, count=len(warnings))
    lines = [t("warn_count", LANG, **_counts(warnings)), ""]
    for w in warnings:
        link = cfg.link(w.link)
        lines.append(f"[{w.level_label(LANG)}] {w.reason(LANG)}" + (f"\n  {link}" if link else ""))
    return subject, "\n".join(lines) + "\n"


def warnings_markdown(warnings: Sequence[Warning], cfg: Config) -> tuple[str, str]:
    title = t("notify_warnings_subject", LANG, count=len(warnings))
    lines = [f"### {title}", f"> {t('warn_count', LANG, **_counts(warnings))}", ""]
    for w in warnings:
        link = cfg.link(w.link)
        seen = f" [{t('warn_open_view', LANG)}]({link})" if link else ""
        lines.append(f"- **{w.level_label(LANG)}** {w.reason(LANG)}{seen}")
    return title, "\n".join(lines)


def _figures(data: Review) -> list[str]:
    out = []
    for row in data.headline.to_dict("records"):
        value = fmt_number(row["value"], str(row["format"]), LANG)
        cue = f"（{row['cue']}）" if row.get("cue") else ""
        out.append(f"{row['label']}：{value}{cue}")
    return out


def packet_email(data: Review, cfg: Config) -> tuple[str, str]:
    period = data.period.label(LANG)
    subject = t("notify_packet_subject", LANG, period=period)
    lines = [t("notify_packet_intro", LANG, period=period), "", *_figures(data), ""]
    lines += [*data.narrative, "", data.stamp]
    link = cfg.link(f"/meeting?period={data.period.code}")
    if link:
        lines.append(link)
    return subject, "\n".join(lines) + "\n"


def packet_markdown(data: Review, cfg: Config) -> tuple[str, str]:
    period = data.period.label(LANG)
    title = t("notify_packet_subject", LANG, period=period)
    lines = [f"### {title}", *(f"- {f}" for f in _figures(data)), "", f"> {data.stamp}"]
    link = cfg.link(f"/meeting?period={data.period.code}")
    if link:
        lines.append(f"[{t('notify_packet_open', LANG)}]({link})")
    return title, "\n".join(lines)
