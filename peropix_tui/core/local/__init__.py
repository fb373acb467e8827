"""The local provider's prompt side, torch-free: prompt dialects, A1111 prompt editing, and the
mapping of :class:`~peropix_tui.core.settings.GenerationSettings` onto an engine request.

* :mod:`.weights`: ``(text, weight)`` segments of a prompt for each dialect (auto, comfyui,
  a1111, novelai), and per-character weights for the prompt editor's highlighter;
* :mod:`.schedule`: A1111 prompt editing ``[from:to:when]`` and alternation ``[a|b]``;
* :mod:`.prompt`: the prompt and negative the engine encodes (characters, quality tags, UC preset);
* :mod:`.request`: settings → the plain fields of the engine's request.
"""
