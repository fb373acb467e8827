"""PeroPix TUI: mass-produce character image sets with NovelAI or a local SDXL engine, in a terminal."""

__version__ = "0.1.0"
