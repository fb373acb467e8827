"""Domain logic and I/O. Never imports Textual, torch, transformers or safetensors."""
