"""A TextArea for prompts: syntax highlighting and ghost-text tag completion.

Highlighting overrides the public :meth:`TextArea.get_line` (textual-notes §3): each line is
tokenized by :func:`peropix_tui.core.prompt.tokenize` and styled with component classes, so the
colours come from TCSS and follow the theme. Styled lines are cached per line string (``get_line``
is called once per wrapped row). Offsets are characters, so CJK and emoji are safe.

Completion uses ``TextArea.suggestion``: :meth:`update_suggestion` looks up the tag being typed
in the tag index (``tags`` or ``app.tags``) and shows the rest of the best tag as ghost text;
Tab or → accepts it (Tab moves focus on when there is nothing to accept).

NovelAI's tag suggestions join the local ones when the editor is given ``remote_tags`` (a factory of
a :class:`~peropix_tui.core.nai.suggest.TagSuggester`, made on first use so that start-up does not
load the HTTP stack) and ``suggest_model`` (a NovelAI model id; None turns them off). An exclusive
worker waits for the debounce (a newer keystroke cancels it), then the request runs on a thread, so
typing never waits on the network; a cached answer shows at once; errors and no network are silent. ``lang`` is ``jp`` when the tag being typed is Japanese. Local CSV hits come first; NovelAI's
fill the rest of the candidate list (at least :data:`REMOTE_SLOTS` when it has new tags).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from rich.style import Style
from rich.text import Text
from textual import work
from textual.actions import SkipAction
from textual.binding import Binding, BindingType
from textual.widgets import TextArea

from ..core.local.highlight import LOCAL_DIALECTS, line_spans
from ..core.prompt import Span, fragment_at, tokenize
from ..core.tags import escape_tag
from ..i18n import N_
from ..services import services
from .plain import plain

if TYPE_CHECKING:
    from ..core.nai.suggest import TagSuggestion

_CACHE_LIMIT = 512
MIN_FRAGMENT = 2


class TagSource(Protocol):
    def complete(self, prefix: str) -> str | None: ...

    def search(self, prefix: str, limit: int = 10) -> list[Any]: ...


class RemoteTags(Protocol):
    """What the editor uses of :class:`~peropix_tui.core.nai.suggest.TagSuggester`."""

    def cached(self, text: str, model: str, lang: str = "en") -> list[TagSuggestion] | None: ...

    def suggest_blocking(self, text: str, model: str, lang: str = "en") -> list[TagSuggestion]: ...


MAX_CANDIDATES = 5
TAG_KEY_DESCRIPTIONS = (N_("Tag 1"), N_("Tag 2"), N_("Tag 3"), N_("Tag 4"), N_("Tag 5"))
"""Descriptions of alt+1..5 (F1 help), one literal each: a description is translated as it is shown."""
REMOTE_SLOTS = 2
"""Candidates kept for NovelAI's tags when the local index alone would fill the list."""
_JAPANESE = re.compile("[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uff66-\uff9f]")


def suggest_lang(tag: str) -> str:
    """``jp`` for a tag typed in Japanese (kana or kanji), else ``en``."""
    return "jp" if _JAPANESE.search(tag) else "en"


def human_count(n: int) -> str:
    """Post counts the way tag lists show them: 950, 12k, 1.2M."""
    if n >= 1_000_000:
        return f"{n / 1_000_000:.1f}M"
    if n >= 1_000:
        return f"{n // 1_000}k"
    return str(n)


def span_class(span: Span) -> str | None:
    """The component class styling one span, or None for plain text."""
    if span.kind in ("bracket", "weight", "break", "wildcard", "pipe", "escape", "error", "literal"):
        return f"prompt--{span.kind}"
    if span.kind != "text" or span.level == 0:
        return None
    strength = span.depth or (1 if abs(span.weight - 1) < 0.25 else 2 if abs(span.weight - 1) < 0.6 else 3)
    if span.weight < 0:
        strength = 3
    return f"prompt--{'up' if span.level > 0 else 'down'}{min(strength, 3)}"


def merged_candidates(local: list[Any], remote: list[TagSuggestion]) -> list[Any]:
    """Local tag matches first, then NovelAI's new tags (:func:`~peropix_tui.core.nai.suggest.merge_suggestions`
    order), at most :data:`MAX_CANDIDATES`, keeping :data:`REMOTE_SLOTS` for NovelAI when it has new tags."""
    from ..core.nai.suggest import merge_suggestions

    seen = {m.tag.lower().replace("_", " ") for m in local}
    new = [s for s in remote if s.tag.lower().replace("_", " ") not in seen]
    keep = MAX_CANDIDATES - min(REMOTE_SLOTS, len(new))
    names = merge_suggestions([(m.tag, m.count) for m in local[:keep]], new, MAX_CANDIDATES)
    by_name: dict[str, Any] = {s.tag: s for s in new}
    by_name.update({m.tag: m for m in local})
    return [by_name[name] for name, _ in names]


class PromptArea(TextArea):
    """Multi-line prompt editor with NovelAI/SD highlighting and tag completion."""

    COMPONENT_CLASSES: ClassVar[set[str]] = TextArea.COMPONENT_CLASSES | {
        "prompt--up1", "prompt--up2", "prompt--up3",
        "prompt--down1", "prompt--down2", "prompt--down3",
        "prompt--bracket", "prompt--weight", "prompt--break", "prompt--wildcard",
        "prompt--pipe", "prompt--escape", "prompt--error", "prompt--literal",
    }

    DEFAULT_CSS = """
    PromptArea { height: auto; min-height: 3; max-height: 12; border-subtitle-color: $text-muted; }
    PromptArea > .prompt--up1 { color: $success-lighten-1; }
    PromptArea > .prompt--up2 { color: $success; text-style: bold; }
    PromptArea > .prompt--up3 { color: $success-darken-1; text-style: bold; }
    PromptArea > .prompt--down1 { color: $secondary-lighten-1; }
    PromptArea > .prompt--down2 { color: $secondary; }
    PromptArea > .prompt--down3 { color: $secondary-darken-1; text-style: italic; }
    PromptArea > .prompt--bracket { color: $accent; text-style: bold; }
    PromptArea > .prompt--weight { color: $warning; text-style: bold; }
    PromptArea > .prompt--break { color: $primary; text-style: bold reverse; }
    PromptArea > .prompt--wildcard { color: $accent-lighten-2; text-style: underline; }
    PromptArea > .prompt--pipe { color: $primary-lighten-2; text-style: bold; }
    PromptArea > .prompt--escape { color: $text-muted; }
    PromptArea > .prompt--error { color: $text; background: $error; text-style: bold; }
    PromptArea > .prompt--literal { color: $text-muted; text-style: strike; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("tab", "accept_suggestion", N_("Accept tag"), show=False, id="accept_completion"),
        *(
            Binding(f"alt+{n}", f"pick_candidate({n})", description, show=False, id=f"pick_tag_{n}")
            for n, description in enumerate(TAG_KEY_DESCRIPTIONS[:MAX_CANDIDATES], 1)
        ),
    ]

    def __init__(
        self,
        text: str = "",
        *,
        dialect: str = "nai",
        tags: TagSource | None = None,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("soft_wrap", True)
        kwargs.setdefault("tab_behavior", "focus")
        # The cursor-line style is applied over get_line()'s text and would repaint every span.
        kwargs.setdefault("highlight_cursor_line", False)
        super().__init__(text, **kwargs)
        self._prompt_dialect = dialect
        self._prompt_tags = tags
        self._prompt_lines: dict[str, Text] = {}
        self._doc_spans: tuple[tuple[str, str], list[list[Span]]] | None = None
        self._prompt_styles: dict[str, Style] = {}
        self.candidates: list[Any] = []  # TagMatch / TagSuggestion list for the fragment at the cursor
        self._fragment_start = 0
        self.remote_tags: Callable[[], RemoteTags | None] | None = None
        """Makes (or returns) the NovelAI tag suggester; None: local tags only."""
        self.suggest_model: str | None = None
        """The NovelAI model asked for suggestions; None: none are asked."""
        self._remote: tuple[tuple[str, str, str], list[TagSuggestion]] | None = None

    # -------------------------------------------------------------- dialect
    @property
    def dialect(self) -> str:
        return self._prompt_dialect

    @dialect.setter
    def dialect(self, value: str) -> None:
        if value != self._prompt_dialect:
            self._prompt_dialect = value
            self.restyle()

    def restyle(self) -> None:
        """Forget cached styles and lines (theme or dialect changed) and repaint."""
        self._prompt_lines.clear()
        self._doc_spans = None
        self._prompt_styles.clear()
        self._line_cache.clear()
        self.refresh()

    def on_mount(self) -> None:
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self.restyle())

    # ---------------------------------------------------------- highlighting
    def spans(self, line_index: int = 0) -> list[Span]:
        if self._prompt_dialect in LOCAL_DIALECTS:
            return self._document_spans()[line_index]
        return tokenize(self.document.get_line(line_index), self._prompt_dialect)

    def _document_spans(self) -> list[list[Span]]:
        """Local-engine dialects: spans of the whole prompt (brackets may span lines), per line."""
        text = self.document.text
        if self._doc_spans is None or self._doc_spans[0] != (text, self._prompt_dialect):
            self._doc_spans = ((text, self._prompt_dialect), line_spans(text, self._prompt_dialect))
        return self._doc_spans[1]

    def get_line(self, line_index: int) -> Text:
        if self._prompt_dialect in LOCAL_DIALECTS:
            line = self.document.get_line(line_index)
            styled_line = Text(line, end="", no_wrap=True)
            for span in self._document_spans()[line_index]:
                name = span_class(span)
                if name is not None:
                    styled_line.stylize(self._style(name), span.start, span.end)
            return styled_line
        line = self.document.get_line(line_index)
        styled = self._prompt_lines.get(line)
        if styled is None:
            styled = self._style_line(line)
            if len(self._prompt_lines) >= _CACHE_LIMIT:
                self._prompt_lines.clear()
            self._prompt_lines[line] = styled
        return styled.copy()

    def _style_line(self, line: str) -> Text:
        text = Text(line, end="", no_wrap=True)
        for span in tokenize(line, self._prompt_dialect):
            name = span_class(span)
            if name is not None:
                text.stylize(self._style(name), span.start, span.end)
        return text

    def _style(self, name: str) -> Style:
        style = self._prompt_styles.get(name)
        if style is None:
            style = self.get_component_rich_style(name, partial=True)
            self._prompt_styles[name] = style
        return style

    # ------------------------------------------------------------ completion
    @property
    def tags(self) -> TagSource | None:
        if self._prompt_tags is not None:
            return self._prompt_tags
        return services(self).tags if self.is_attached else None

    @tags.setter
    def tags(self, value: TagSource | None) -> None:
        self._prompt_tags = value
        self.update_suggestion()

    def update_suggestion(self) -> None:
        self._ask_remote()
        self.suggestion = self._best_suggestion()
        self._show_candidates()

    def _fragment(self) -> str:
        """The tag being typed at the cursor ("" when completion does not apply)."""
        if not self.selection.is_empty:
            return ""
        row, col = self.cursor_location
        line = self.document.get_line(row)
        if col < len(line) and (line[col].isalnum() or line[col] == "_"):
            return ""  # in the middle of a word
        frag = fragment_at(line, col)
        self._fragment_start = frag.start
        return frag.text if len(frag.text) >= MIN_FRAGMENT else ""

    def _best_suggestion(self) -> str:
        frag = self._fragment()
        tags = self.tags
        if not frag:
            return ""
        if tags is None:
            return self._remote_ghost(frag)
        direct = getattr(tags, "complete_direct", None)  # the best tag that starts with what was typed
        tag = direct(frag) if direct is not None else tags.complete(frag)
        if tag is None:
            return self._remote_ghost(frag)
        tag = escape_tag(tag, self._prompt_dialect)
        if len(tag) <= len(frag):
            return ""
        if tag[: len(frag)].lower().replace("_", " ") != frag.lower().replace("_", " "):
            return ""  # matched through an alias: ghost text cannot rewrite what was typed
        return tag[len(frag) :]

    def _show_candidates(self) -> None:
        """Top tags for the fragment in the bottom border: ``alt+N`` picks one (aliases included)."""
        frag = self._fragment()
        tags = self.tags
        search = getattr(tags, "search", None)
        found: list[Any] = list(search(frag, MAX_CANDIDATES)) if frag and search else []
        remote = self._remote_for_cursor() if frag else []
        if remote:
            found = merged_candidates(found, remote)
        typed = frag.lower().replace("_", " ")
        self.candidates = [] if [m.tag.lower() for m in found] == [typed] else found  # already complete
        self.border_subtitle = plain("  ".join(  # tag names are user data, never markup
            f"{i}:{m.tag} {human_count(m.count)}" for i, m in enumerate(self.candidates, 1)
        ))

    # ------------------------------------------------- NovelAI's suggestions
    def _remote_key(self) -> tuple[str, str, str] | None:
        """(tag typed, model, lang) to ask NovelAI about, or None when nothing should be asked."""
        if self.suggest_model is None or self.remote_tags is None or not self.is_attached:
            return None
        frag = self._fragment()
        if not frag:
            return None
        from ..core.nai.suggest import current_tag

        row, col = self.cursor_location
        query = current_tag(self.document.get_line(row)[:col])
        if len(query) < MIN_FRAGMENT:
            return None
        return (query, self.suggest_model, suggest_lang(query))

    def _remote_for_cursor(self) -> list[TagSuggestion]:
        key = self._remote_key()
        if key is None or self._remote is None or self._remote[0] != key:
            return []
        return self._remote[1]

    def _ask_remote(self) -> None:
        key = self._remote_key()
        if key is None or (self._remote is not None and self._remote[0] == key):
            self._cancel_remote()
            return
        suggester = self.remote_tags() if self.remote_tags is not None else None
        if suggester is None:
            return
        hit = suggester.cached(*key)
        if hit is not None:
            self._remote = (key, hit)
            self._cancel_remote()
            return
        self._fetch_remote(suggester, key)

    def _cancel_remote(self) -> None:
        """Drop a request still waiting for its debounce (the tag at the cursor changed)."""
        if self.is_attached:
            self.workers.cancel_group(self, "suggest-tags")

    @work(exclusive=True, group="suggest-tags", exit_on_error=False)
    async def _fetch_remote(self, suggester: RemoteTags, key: tuple[str, str, str]) -> None:
        """Ask NovelAI after the debounce (a newer keystroke cancels this worker while it waits); the
        request itself runs on a thread, its answer is shown if the cursor is still on that tag."""
        from ..core.nai.suggest import DEBOUNCE

        await asyncio.sleep(DEBOUNCE)
        found = await asyncio.to_thread(suggester.suggest_blocking, *key)
        self._remote = (key, found)
        if self._remote_key() == key:  # still on the same tag: show them
            if not self.suggestion:
                self.suggestion = self._best_suggestion()
            self._show_candidates()

    def _remote_ghost(self, frag: str) -> str:
        """Ghost text from NovelAI's best tag that starts with what was typed ("" if none)."""
        typed = frag.lower().replace("_", " ")
        for s in self._remote_for_cursor():
            tag = escape_tag(s.tag, self._prompt_dialect)
            if len(tag) > len(frag) and tag[: len(frag)].lower().replace("_", " ") == typed:
                return tag[len(frag) :]
        return ""

    def action_accept_suggestion(self) -> None:
        if not self.suggestion:
            raise SkipAction()
        self.insert(self.suggestion)

    def action_pick_candidate(self, n: int) -> None:
        """Replace the fragment at the cursor by candidate ``n`` (1-based)."""
        if not 1 <= n <= len(self.candidates):
            raise SkipAction()
        row, col = self.cursor_location
        tag = escape_tag(self.candidates[n - 1].tag, self._prompt_dialect)
        self.replace(tag, (row, self._fragment_start), (row, col))
