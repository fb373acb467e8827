"""Local SDXL engine (torch, safetensors, transformers). Imported lazily: nothing outside this
package imports it at module level, so the TUI and ``peropix --help`` start without torch."""
