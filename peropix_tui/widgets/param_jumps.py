"""Jump keys of the Parameters tab: alt+<letter> focuses a field from anywhere on Compose.

Kept apart from the form itself so that the Compose screen can bind the keys without importing
the form (which is built only when its tab is first shown).
"""

from __future__ import annotations

from textual.content import Content

# alt+<letter> jumps to a field from anywhere on Compose; the letter is underlined in its label.
# (field id, label, letter)
JUMPS: tuple[tuple[str, str, str], ...] = (
    ("p-provider", "provider", "p"),
    ("p-model", "model", "m"),
    ("p-checkpoint", "checkpoint", "c"),
    ("p-loras", "LoRAs", "l"),
    ("p-size", "size", "z"),
    ("p-width", "W × H", "w"),
    ("p-height", "W × H", "h"),
    ("p-steps", "steps", "t"),
    ("p-scale", "scale", "s"),
    ("p-cfg_rescale", "rescale", "r"),
    ("p-n_samples", "images", "i"),
    ("p-sampler", "sampler", "a"),
    ("p-schedule", "schedule", "e"),
    ("p-seed", "seed", "d"),
    ("p-uc_preset", "UC preset", "u"),
    ("p-quality", "quality", "q"),
    ("p-variety", "variety", "v"),
)


def jump_label(label: str) -> Content:
    """``label`` with the letters of its jump keys underlined (``W × H``: w and h)."""
    letters = {k for _, name, k in JUMPS if name == label}
    content = Content(label)
    done: set[str] = set()
    for i, ch in enumerate(label):
        if ch.lower() in letters and ch.lower() not in done:
            done.add(ch.lower())
            content = content.stylize("bold underline", i, i + 1)
    return content
