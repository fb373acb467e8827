"""ComfyUI servers as a provider: config, graph builder, HTTP + WebSocket client, discovery, backend.

Importing this package is cheap (no httpx or websockets until a client is made); the backend is
:class:`peropix_tui.core.comfyui.backend.ComfyUIBackend`.
"""
