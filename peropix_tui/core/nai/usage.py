"""The Opus usage quota for V5 free images (``usage`` in ``GET /user/subscription``).

nai-tools.md §5: ``usage`` = ``{percent, isNegative, timeUntilNextPercent}``, sent only for an
active Opus (tier 3) subscription and never in generation answers. The website shows
``isNegative ? 0 : clamp(percent, 0, 100)`` %, warns when ``isNegative or percent < 5``, refills
``round(86400 / timeUntilNextPercent * 10) / 10`` % a day (0 while refill is paused above the
cap), and estimates ``round(17.3 * percent)`` images left. While ``isNegative`` the free V5
sample stops and Anlas are charged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ...i18n import _, ngettext

IMAGES_PER_PERCENT = 17.3
LOW_PERCENT = 5


@dataclass(frozen=True)
class UsageQuota:
    percent: int
    """As sent: "[0-100+]" (170 was seen after a launch boost)."""
    negative: bool
    seconds_to_next_percent: int

    @property
    def shown_percent(self) -> int:
        return 0 if self.negative else max(0, min(self.percent, 100))

    @property
    def low(self) -> bool:
        return self.negative or self.percent < LOW_PERCENT

    @property
    def refill_per_day(self) -> float | None:
        """Percent per day; None while refill is paused (``timeUntilNextPercent`` 0)."""
        if self.seconds_to_next_percent <= 0:
            return None
        return round(86400 / self.seconds_to_next_percent * 10) / 10

    @property
    def images_left(self) -> int:
        return 0 if self.negative else round(IMAGES_PER_PERCENT * max(self.percent, 0))

    @property
    def v5_free(self) -> bool:
        """Whether V5 images still get the Opus free sample."""
        return not self.negative

    def label(self) -> str:
        """Short text for the cost meter, e.g. ``V5 free 100% (~1730 images, +11.0%/day)``."""
        if self.negative:
            return _("V5 free quota used up: Anlas are charged")
        refill = self.refill_per_day
        n = self.images_left
        if refill is None:
            text = (ngettext("V5 free low {percent}% (~{n} image, refill paused)",
                             "V5 free low {percent}% (~{n} images, refill paused)", n) if self.low
                    else ngettext("V5 free {percent}% (~{n} image, refill paused)",
                                  "V5 free {percent}% (~{n} images, refill paused)", n))
        else:
            text = (ngettext("V5 free low {percent}% (~{n} image, +{refill}%/day)",
                             "V5 free low {percent}% (~{n} images, +{refill}%/day)", n) if self.low
                    else ngettext("V5 free {percent}% (~{n} image, +{refill}%/day)",
                                  "V5 free {percent}% (~{n} images, +{refill}%/day)", n))
        return text.format(percent=self.shown_percent, n=n, refill=f"{refill:g}" if refill is not None else "")

    def to_json(self) -> dict[str, Any]:
        return {"percent": self.percent, "isNegative": self.negative,
                "timeUntilNextPercent": self.seconds_to_next_percent, "shown_percent": self.shown_percent,
                "low": self.low, "refill_per_day": self.refill_per_day, "images_left": self.images_left}


def usage_quota(subscription: Any) -> UsageQuota | None:
    """The quota from a subscription answer (its JSON, or an object with ``.raw``); None when absent.

    Only what the answer carries is used: a missing field makes the whole quota unknown (None)."""
    raw = getattr(subscription, "raw", subscription)
    usage = raw.get("usage") if isinstance(raw, dict) else None
    if not isinstance(usage, dict):
        return None
    percent, negative, seconds = usage.get("percent"), usage.get("isNegative"), usage.get("timeUntilNextPercent")
    if isinstance(percent, bool) or not isinstance(percent, int | float) or not isinstance(negative, bool):
        return None
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):
        return None
    return UsageQuota(int(percent), negative, int(seconds))


def meter_note(model: str, quota: UsageQuota | None) -> str | None:
    """The cost meter's V5 line: the quota label on V5 models, None elsewhere or when unknown."""
    if not model.startswith("nai-diffusion-5") or quota is None:
        return None
    return quota.label()
