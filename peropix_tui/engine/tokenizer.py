"""Offline CLIP byte-pair-encoding tokenizer (the one SDXL's CLIP-L and CLIP-G share).

The vocabulary is OpenAI CLIP's ``bpe_simple_vocab_16e6.txt.gz`` carried in ``engine/data`` (MIT,
see ``LICENSE-CLIP-BPE.txt``). From it:

* merges = lines 1..48894 of the file (line 0 is a version header);
* vocab  = the 256 byte-characters, the same with ``</w>``, one entry per merge, then
  ``<|startoftext|>`` (49406) and ``<|endoftext|>`` (49407): 49408 ids.

Text cleaning is ftfy-free: NFC normalisation, HTML entities unescaped (OpenAI CLIP; transformers
without ftfy keeps them), whitespace collapsed, lower case. A word is
split into UTF-8 bytes shown as printable characters (GPT-2's byte↔unicode table), its last
symbol marked with ``</w>``, and pairs are merged lowest-rank first until none applies.
"""

from __future__ import annotations

import gzip
import html
import unicodedata
from functools import cache, lru_cache
from importlib import resources

import regex

BOS = 49406
EOS = 49407
VOCAB_SIZE = 49408
_N_MERGES = VOCAB_SIZE - 256 - 256 - 2
_DATA_FILE = "bpe_simple_vocab_16e6.txt.gz"

# CLIP's pre-tokenizer: special tokens, English contractions, letter runs, single digits, symbol runs.
_WORD_RE = regex.compile(
    r"""<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+""",
    regex.IGNORECASE,
)


@cache
def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's reversible map from the 256 byte values to printable unicode characters."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    table = {b: chr(b) for b in printable}
    extra = 0
    for b in range(256):
        if b not in table:
            table[b] = chr(256 + extra)
            extra += 1
    return table  # insertion order (printable bytes first) is the vocabulary's order


def clean_text(text: str) -> str:
    """NFC-normalise, HTML-unescape (twice, as CLIP does), collapse whitespace, strip, lower-case."""
    text = html.unescape(html.unescape(unicodedata.normalize("NFC", text)))
    collapsed: str = regex.sub(r"\s+", " ", text)
    return collapsed.strip().lower()


def load_merges() -> list[tuple[str, str]]:
    """The 48,894 BPE merges, in rank order, from the carried vocabulary file."""
    raw = resources.files("peropix_tui.engine.data").joinpath(_DATA_FILE).read_bytes()
    lines = gzip.decompress(raw).decode("utf-8").split("\n")[1 : _N_MERGES + 1]
    merges = [tuple(line.split()) for line in lines]
    return [(a, b) for a, b in merges]


def build_vocab(merges: list[tuple[str, str]]) -> list[str]:
    """Token strings in id order (index = id)."""
    chars = list(bytes_to_unicode().values())
    return [*chars, *(c + "</w>" for c in chars), *("".join(m) for m in merges), "<|startoftext|>", "<|endoftext|>"]


class ClipTokenizer:
    """Text → CLIP token ids (without BOS/EOS); use :func:`get_tokenizer` for the shared instance."""

    bos = BOS
    eos = EOS

    def __init__(self, merges: list[tuple[str, str]]) -> None:
        self.merges = merges
        self.vocab = build_vocab(merges)
        self.ids = {tok: i for i, tok in enumerate(self.vocab)}
        self._ranks = {pair: i for i, pair in enumerate(merges)}
        self._byte_chars = bytes_to_unicode()
        self._char_bytes = {c: b for b, c in self._byte_chars.items()}
        self._bpe = lru_cache(maxsize=65536)(self._bpe_uncached)

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text`` (cleaned first)."""
        out: list[int] = []
        for word in _WORD_RE.findall(clean_text(text)):
            chars = "".join(self._byte_chars[b] for b in word.encode("utf-8"))
            out.extend(self.ids[tok] for tok in self._bpe(chars))
        return out

    def decode(self, ids: list[int]) -> str:
        """Inverse of :meth:`encode` up to cleaning: ``</w>`` becomes a space."""
        text = "".join(self.vocab[i] for i in ids if i not in (BOS, EOS))
        words = [bytes(self._char_bytes[c] for c in w) for w in text.split("</w>")]
        return b" ".join(words).decode("utf-8", errors="replace").strip()

    def _bpe_uncached(self, chars: str) -> tuple[str, ...]:
        if chars in ("<|startoftext|>", "<|endoftext|>"):
            return (chars,)
        symbols = [*chars[:-1], chars[-1] + "</w>"]
        while len(symbols) > 1:
            pairs = {(a, b) for a, b in zip(symbols, symbols[1:], strict=False)}
            best = min(pairs, key=lambda p: self._ranks.get(p, 1 << 30))
            if best not in self._ranks:
                break
            symbols = _merge_pair(symbols, best)
        return tuple(symbols)


def _merge_pair(symbols: list[str], pair: tuple[str, str]) -> list[str]:
    """Replace every adjacent occurrence of ``pair`` (left to right) by the joined symbol."""
    out: list[str] = []
    i = 0
    while i < len(symbols):
        if i + 1 < len(symbols) and (symbols[i], symbols[i + 1]) == pair:
            out.append(pair[0] + pair[1])
            i += 2
        else:
            out.append(symbols[i])
            i += 1
    return out


@cache
def get_tokenizer() -> ClipTokenizer:
    """The process-wide tokenizer (built once, ~0.1 s)."""
    return ClipTokenizer(load_merges())
