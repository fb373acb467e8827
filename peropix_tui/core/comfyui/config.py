"""The ``[comfyui]`` config section: the servers to drive and how long to wait for them.

``servers`` holds strings (a URL) or tables ``{url, name, headers, max_jobs}``; a server's name
defaults to its ``host:port``. ``PEROPIX_COMFYUI_URLS`` (comma-separated URLs) replaces the list.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from ...i18n import _


class ComfyConfigError(ValueError):
    """A ``[comfyui]`` value cannot be used; the message names where it came from and the key."""


@dataclass
class ComfyServer:
    url: str
    """Base URL, e.g. http://gpu1:8188 (https for a TLS proxy)."""
    name: str = ""
    """Shown in the UI and recorded in images; defaults to host:port."""
    headers: dict[str, str] = field(default_factory=dict)
    """Sent with every request and the WebSocket handshake (e.g. a reverse proxy's Authorization)."""
    max_jobs: int = 1
    """Jobs in flight on this server at once."""

    def __post_init__(self) -> None:
        self.url = self.url.strip().rstrip("/")
        if not self.name:
            parts = urlsplit(self.url)
            self.name = parts.netloc or self.url

    def __repr__(self) -> str:  # headers may hold credentials: never shown
        return f"ComfyServer(url={self.url!r}, name={self.name!r}, max_jobs={self.max_jobs})"


@dataclass
class ComfyUIConfig:
    servers: list[ComfyServer] = field(default_factory=list)
    """The servers, in order of preference."""
    connect_timeout: float = 10.0
    """Seconds to connect to a server before it counts as unreachable."""
    stall_timeout: float = 300.0
    """Seconds a running prompt may go without any event before it counts as stuck."""
    job_timeout: float = 3600.0
    """Seconds one job may take in all, queue wait included."""
    hires_upscale: str = "latent"
    """Hires fix upscale: "latent" (LatentUpscaleBy) or "image" (decode, ImageScale, encode)."""

    def server(self, ref: str | None) -> ComfyServer:
        """The server named ``ref`` (name or URL); the first one when ``ref`` is None."""
        if ref is None or ref == "":
            if not self.servers:
                raise ComfyConfigError(_("comfyui.servers: no ComfyUI server configured "
                                         "(set [comfyui] servers or PEROPIX_COMFYUI_URLS, or pass --server URL)"))
            return self.servers[0]
        for s in self.servers:
            if ref in (s.name, s.url) or ref.rstrip("/") == s.url:
                return s
        if "://" in ref:
            return ComfyServer(url=ref)
        names = ", ".join(s.name for s in self.servers) or _("none configured")
        raise ComfyConfigError(_("--server: no ComfyUI server named {name} (servers: {names})").format(
            name=repr(ref), names=names))


def _check_url(where: str, url: str) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ComfyConfigError(_("{where}: {url} is not an http(s) URL such as http://gpu1:8188").format(
            where=where, url=repr(url)))
    return url


def parse_server(where: str, value: Any) -> ComfyServer:
    if isinstance(value, str):
        return ComfyServer(url=_check_url(where, value))
    if not isinstance(value, dict):
        raise ComfyConfigError(_("{where}: expected a URL or a table {example}").format(
            where=where, example="{url = ..., name = ...}"))
    unknown = sorted(set(value) - {"url", "name", "headers", "max_jobs"})
    if unknown:
        raise ComfyConfigError(_("{where}: unknown key {key} (use url, name, headers, max_jobs)").format(
            where=where, key=repr(unknown[0])))
    url = value.get("url")
    if not isinstance(url, str):
        raise ComfyConfigError(_("{where}: missing or not text").format(where=f"{where}.url"))
    name = value.get("name", "")
    if not isinstance(name, str):
        raise ComfyConfigError(_("{where}: expected text").format(where=f"{where}.name"))
    headers = value.get("headers", {})
    if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
        raise ComfyConfigError(_("{where}: expected a table of text values").format(where=f"{where}.headers"))
    max_jobs = value.get("max_jobs", 1)
    if isinstance(max_jobs, bool) or not isinstance(max_jobs, int) or max_jobs < 1:
        raise ComfyConfigError(_("{where}: expected a whole number of at least 1").format(where=f"{where}.max_jobs"))
    return ComfyServer(url=_check_url(where, url), name=name, headers={str(k): v for k, v in headers.items()},
                       max_jobs=max_jobs)


def _number(where: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ComfyConfigError(_("{where}: expected a number of seconds").format(where=where))
    try:
        v = float(value)
    except ValueError:
        raise ComfyConfigError(_("{where}: expected a number of seconds, got {value}").format(
            where=where, value=repr(value))) from None
    if not v > 0:
        raise ComfyConfigError(_("{where}: must be more than 0").format(where=where))
    return v


def parse_section(source: str, values: dict[str, Any], env: dict[str, str]) -> ComfyUIConfig:
    """``[comfyui]`` from the TOML table ``values`` (``source`` names the file), then the env override."""
    cfg = ComfyUIConfig()
    for key, value in values.items():
        where = f"{source}: comfyui.{key}"
        if key == "servers":
            if not isinstance(value, list):
                raise ComfyConfigError(_("{where}: expected a list of URLs or tables").format(where=where))
            cfg.servers = [parse_server(f"{where}[{i}]", v) for i, v in enumerate(value)]
        elif key in ("connect_timeout", "stall_timeout", "job_timeout"):
            setattr(cfg, key, _number(where, value))
        elif key == "hires_upscale":
            if value not in ("latent", "image"):
                raise ComfyConfigError(_("{where}: {value} is not 'latent' or 'image'").format(
                    where=where, value=repr(value)))
            cfg.hires_upscale = value
        else:
            raise ComfyConfigError(_("{source}: unknown key {key}").format(source=source, key=f"comfyui.{key}"))
    urls = env.get("PEROPIX_COMFYUI_URLS", "").strip()
    if urls:
        cfg.servers = [parse_server("$PEROPIX_COMFYUI_URLS", u.strip()) for u in urls.split(",") if u.strip()]
    names = [s.name for s in cfg.servers]
    dup = next((n for n in names if names.count(n) > 1), None)
    if dup is not None:
        raise ComfyConfigError(_("{source}: comfyui.servers: two servers are named {name}").format(
            source=source, name=repr(dup)))
    return cfg


def section_to_toml(cfg: ComfyUIConfig) -> list[str]:
    """``[comfyui]`` lines for the config file (servers as inline tables)."""
    def q(s: str) -> str:
        return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'

    items = []
    for s in cfg.servers:
        fields = [f"url = {q(s.url)}", f"name = {q(s.name)}", f"max_jobs = {s.max_jobs}"]
        if s.headers:
            fields.append("headers = { " + ", ".join(f"{q(k)} = {q(v)}" for k, v in s.headers.items()) + " }")
        items.append("{ " + ", ".join(fields) + " }")
    return [
        "[comfyui]",
        "servers = [" + ", ".join(items) + "]",
        f"connect_timeout = {cfg.connect_timeout!r}",
        f"stall_timeout = {cfg.stall_timeout!r}",
        f"job_timeout = {cfg.job_timeout!r}",
        f"hires_upscale = {q(cfg.hires_upscale)}",
    ]
