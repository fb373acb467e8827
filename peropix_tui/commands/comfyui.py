"""``peropix comfyui list [--json]``: the configured ComfyUI servers, their health, queue depth and models;
``peropix comfyui models [--server S] [--json]``: what one server offers (discovery).

Also the ``--provider comfyui`` pieces of ``peropix generate``: :func:`backend_from_args` (the
backend for ``--server`` / ``--workflow`` / ``--bind``) and :func:`dry_run` (prints the graph that
would be sent, offline: names are not checked against a server).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

from ..core.config import Config
from ..i18n import N_, _, ngettext


def register(sub: Any) -> None:
    from ..textwidth import CellWidthHelpFormatter

    p = sub.add_parser("comfyui", formatter_class=CellWidthHelpFormatter,
                       help=_("ComfyUI servers: list them with health, queue and checkpoints"),
                       description=_("Inspect the ComfyUI servers configured under [comfyui] servers "
                                     "(or PEROPIX_COMFYUI_URLS)."))
    csub = p.add_subparsers(dest="comfyui_command", metavar="ACTION")
    ls = csub.add_parser("list", formatter_class=CellWidthHelpFormatter,
                         help=_("servers, health, queue depth, checkpoints"))
    ls.add_argument("--json", action="store_true", help=_("machine-readable output"))
    ls.add_argument("--server", metavar="NAME|URL", help=_("only this server (a name or a URL)"))
    ls.add_argument("--timeout", type=float, default=5.0, help=_("seconds to wait for each server (default 5)"))
    ls.set_defaults(func=run_list)
    md = csub.add_parser("models", formatter_class=CellWidthHelpFormatter,
                         help=_("one server's checkpoints, LoRAs, VAEs, samplers and schedulers"))
    md.add_argument("--server", metavar="NAME|URL",
                    help=_("a configured server's name, or a URL (default: the first)"))
    md.add_argument("--json", action="store_true", help=_("machine-readable output"))
    md.set_defaults(func=run_models)
    p.set_defaults(func=lambda args: (p.print_help(), 0)[1])


def _workflow(settings: Any) -> Any:
    if not settings.workflow:
        return None
    from ..core.comfyui.workflow import UserWorkflow

    return UserWorkflow.load(settings.workflow, settings.workflow_bind)


def backend_from_args(args: Any, config: Config, settings: Any = None) -> Any:
    """The :class:`ComfyUIBackend` for ``--server`` (default: the first configured).

    The workflow (``--workflow`` / ``--bind``) travels in the settings and is read at run time.
    """
    from ..core.comfyui.backend import ComfyUIBackend
    from ..core.config import ConfigError

    ref = getattr(settings, "comfyui_server", None) or getattr(args, "server", None)
    try:
        return ComfyUIBackend.from_config(config, ref)
    except ValueError as e:
        raise ConfigError(str(e)) from None


def dry_run(args: Any, settings: Any, config: Config) -> int:
    """Print the ``POST /prompt`` body that would be sent; nothing is sent or uploaded."""
    from ..core.comfyui.discovery import ServerInfo
    from ..core.comfyui.graph import Uploads, build_graph
    from ..core.comfyui.prompt import comfy_prompts

    seed = settings.seed if settings.seed is not None else 0
    info = ServerInfo(name="(offline)", url="", checkpoints=[settings.checkpoint] if settings.checkpoint else [],
                      loras=[lo.path for lo in settings.loras], vaes=[settings.vae] if settings.vae else [])
    positive, negative = comfy_prompts(settings, config.local)
    workflow = _workflow(settings)
    if workflow is not None:
        graph = workflow.fill(settings, info, positive=positive, negative=negative, seed=seed)
    else:
        uploads = Uploads(image=f"peropix/<upload of {settings.image}>" if settings.image else None,
                          mask=f"peropix/<upload of {settings.mask}>" if settings.mask else None)
        graph = build_graph(settings, info, positive=positive, negative=negative, seed=seed, uploads=uploads,
                            hires_upscale=config.comfyui.hires_upscale).graph
    try:
        where = config.comfyui.server(settings.comfyui_server).url
    except ValueError:
        where = _("(no server configured)")
    line = (_("dry run: would POST {url}; nothing sent") if settings.seed is not None
            else _("dry run: would POST {url}; nothing sent (seed chosen at run time; 0 shown)"))
    print(line.format(url=f"{where}/prompt"), file=sys.stderr)
    body = {"prompt": graph, "client_id": "<client id>"}
    print(json.dumps(body, ensure_ascii=False, indent=None if args.json else 2))
    return 0


async def _describe(server: Any, timeout: float) -> dict[str, Any]:
    from ..core.backend import BackendError
    from ..core.comfyui.client import ComfyClient, Timeouts
    from ..core.comfyui.health import probe

    client = ComfyClient(server, timeouts=Timeouts(connect=timeout, request=timeout))
    try:
        health = await probe(server, client=client)
        row: dict[str, Any] = {"name": server.name, "url": server.url, "max_jobs": server.max_jobs,
                               "healthy": health.ok, "error": health.error or None,
                               "running": health.running if health.ok else None,
                               "pending": health.pending if health.ok else None,
                               "version": None, "checkpoints": None}
        if health.ok:
            try:
                row["checkpoints"] = await client.models("checkpoints")
                stats = await client.system_stats()
                version = (stats.get("system") or {}).get("comfyui_version")
                row["version"] = str(version) if version else None
            except BackendError as e:
                row["error"] = str(e)
        return row
    finally:
        await client.aclose()


async def _describe_all(servers: list[Any], timeout: float) -> list[dict[str, Any]]:
    return list(await asyncio.gather(*(_describe(s, timeout) for s in servers)))


def run_list(args: argparse.Namespace) -> int:
    from ..core.config import ConfigError, load_config

    config = load_config()
    try:
        servers = [config.comfyui.server(args.server)] if args.server else list(config.comfyui.servers)
    except ValueError as e:
        raise ConfigError(str(e)) from None
    if not servers:
        raise ConfigError(_("comfyui.servers: no ComfyUI server configured "
                            "(set [comfyui] servers in the config file or PEROPIX_COMFYUI_URLS)"))
    rows = asyncio.run(_describe_all(servers, args.timeout))
    if args.json:
        print(json.dumps(rows, ensure_ascii=False))
        return 0
    for row in rows:
        if row["healthy"]:
            ckpts = row["checkpoints"] or []
            state = (_("up, {running} running, {pending} queued, ComfyUI {version}, max jobs {max_jobs}")
                     if row["version"] else _("up, {running} running, {pending} queued, max jobs {max_jobs}"))
            state = state.format(running=row["running"], pending=row["pending"], version=row["version"],
                                 max_jobs=row["max_jobs"])
            print(f"{row['name']}  {row['url']}  {state}")
            print("  " + _list_line(_("checkpoints"), ckpts))
        else:
            print(f"{row['name']}  {row['url']}  " + _("DOWN: {error}").format(error=row["error"]))
    return 0


def _list_line(what: str, items: list[str]) -> str:
    """``checkpoints (2): a, b`` (``none`` for an empty list), ``what`` already translated."""
    shown = ", ".join(items) if items else _("none")
    return ngettext("{what} ({n}): {items}", "{what} ({n}): {items}", len(items)).format(
        what=what, n=len(items), items=shown)


_MODEL_KINDS = {"checkpoints": N_("checkpoints"), "loras": N_("loras"), "vaes": N_("vaes"),
                "samplers": N_("samplers"), "schedulers": N_("schedulers")}
"""The lists of ``comfyui models`` (keys of the discovery record) and their labels."""


def run_models(args: argparse.Namespace) -> int:
    from ..core.comfyui.client import ComfyClient
    from ..core.comfyui.discovery import fetch_info
    from ..core.config import ConfigError, load_config

    config = load_config()
    try:
        server = config.comfyui.server(args.server)
    except ValueError as e:
        raise ConfigError(str(e)) from None

    async def ask() -> dict[str, Any]:
        client = ComfyClient(server)
        try:
            return (await fetch_info(client)).to_dict()
        finally:
            await client.aclose()

    info = asyncio.run(ask())
    if args.json:
        print(json.dumps(info, ensure_ascii=False))
        return 0
    print(f"{info['name']}  {info['url']}" + (f"  ComfyUI {info['version']}" if info["version"] else ""))
    for key, label in _MODEL_KINDS.items():
        print(_list_line(_(label), info[key]))
    return 0
