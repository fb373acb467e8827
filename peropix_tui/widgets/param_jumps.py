"""Jump keys of the Parameters tab: alt+<letter> focuses a field from anywhere on Compose.

Kept apart from the form itself so that the Compose screen can bind the keys without importing
the form (which is built only when its tab is first shown).
"""

from __future__ import annotations

from collections.abc import Iterable

from textual.content import Content

from ..i18n import N_, _, pgettext
from ..textwidth import cell_width

# alt+<letter> jumps to a field from anywhere on Compose; the letter is underlined in its label.
# (field id, label, letter); the label is an English msgid, translated where it is shown.
JUMPS: tuple[tuple[str, str, str], ...] = (
    ("p-provider", N_("provider"), "p"),
    ("p-model", N_("model"), "m"),
    ("p-checkpoint", N_("checkpoint"), "c"),
    ("p-loras", N_("LoRAs"), "l"),
    ("p-size", N_("size"), "z"),
    ("p-width", N_("W × H"), "w"),
    ("p-height", N_("W × H"), "h"),
    ("p-steps", N_("steps"), "t"),
    ("p-scale", N_("scale"), "s"),
    ("p-cfg_rescale", N_("rescale"), "r"),
    ("p-n_samples", N_("images"), "i"),
    ("p-sampler", N_("sampler"), "a"),
    ("p-schedule", N_("schedule"), "e"),
    ("p-seed", N_("seed"), "d"),
    ("p-uc_preset", N_("UC preset"), "u"),
    ("p-quality", N_("quality"), "q"),
    ("p-variety", N_("variety"), "v"),
)

JUMP_DESCRIPTIONS: dict[str, str] = {
    "p-provider": N_("Parameters: provider"),
    "p-model": N_("Parameters: model"),
    "p-checkpoint": N_("Parameters: checkpoint"),
    "p-loras": N_("Parameters: LoRAs"),
    "p-size": N_("Parameters: size"),
    "p-width": N_("Parameters: W × H"),
    "p-height": N_("Parameters: W × H (height)"),
    "p-steps": N_("Parameters: steps"),
    "p-scale": N_("Parameters: scale"),
    "p-cfg_rescale": N_("Parameters: rescale"),
    "p-n_samples": N_("Parameters: images"),
    "p-sampler": N_("Parameters: sampler"),
    "p-schedule": N_("Parameters: schedule"),
    "p-seed": N_("Parameters: seed"),
    "p-uc_preset": N_("Parameters: UC preset"),
    "p-quality": N_("Parameters: quality"),
    "p-variety": N_("Parameters: variety"),
}
"""The jump keys' descriptions (F1 help, command palette): English class attributes, translated there."""


def label_text(label: str) -> str:
    """The translated text of a field label (an English msgid). "checkpoint" has a label form of its
    own, as short as the form's column needs (Japanese: モデル, as Stable Diffusion users say)."""
    if label == "checkpoint":
        return pgettext("Parameters field label", "checkpoint")
    return _(label)


def field_label(field: str) -> str:
    """The translated label of a Parameters field id (``p-steps`` → "steps"); the id's name if it has none."""
    for wid, label, _key in JUMPS:
        if wid == field:
            return label_text(label)
    return field.removeprefix("p-")


def jump_label(label: str, width: int = 0) -> Content:
    """``label`` (an English msgid) translated, with the letters of its jump keys underlined
    (``W × H``: w and h). A translation without the letter gets it after it, as Korean and
    Japanese menus show their access keys: ``스텝(T)``, ``ステップ(T)``; on a line of its own
    when the label would be wider than ``width`` cells (0: no limit)."""
    letters = [k for _w, name, k in JUMPS if name == label]
    text = label_text(label)
    content = Content(text)
    missing: list[str] = []
    done: set[str] = set()
    for letter in letters:
        i = next((i for i, ch in enumerate(text) if ch.lower() == letter and ch.isascii()), -1)
        if i < 0:
            missing.append(letter)
        elif letter not in done:
            done.add(letter)
            content = content.stylize("bold underline", i, i + 1)
    if missing and width and cell_width(text) + 3 * len(missing) > width:
        content = content + Content("\n")
    for letter in missing:
        content = content + Content("(") + Content(letter.upper()).stylize("bold underline") + Content(")")
    return content


def label_cells(labels: Iterable[object]) -> int:
    """Terminal cells the widest of ``labels`` (text or Content) takes; double-width characters count two."""
    return max((cell_width(str(label)) for label in labels), default=0)
