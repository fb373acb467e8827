"""The NovelAI account's balance and tier, for the admission check and the cost meter."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ...i18n import _
from ..backend import BackendError
from ..nai.usage import UsageQuota, usage_quota
from .admission import Account

if TYPE_CHECKING:
    from ..config import Config, Secret


@dataclass(frozen=True)
class AccountReport:
    account: Account | None
    error: str = ""
    quota: UsageQuota | None = None
    """The V5 Opus usage quota when the subscription answer carried one."""


async def fetch_account(config: Config, token: Secret | None, *, client: Any = None) -> AccountReport:
    """Ask NovelAI for the tier and Anlas (on ``client`` when given, left open); errors are reported."""
    if not token:
        return AccountReport(None, _("no token"))
    try:
        if client is not None:
            sub = await client.subscription()
        else:
            from ..nai.client import NaiClient

            async with NaiClient(config.nai.base_url, token, timeout=30.0) as once:
                sub = await once.subscription()
        return AccountReport(Account(int(sub.anlas), int(sub.tier), bool(sub.active)), quota=usage_quota(sub))
    except BackendError as e:
        return AccountReport(None, str(e))
    except Exception as e:
        return AccountReport(None, f"{type(e).__name__}: {e}")
