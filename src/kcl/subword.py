"""A subword vocabulary for bioS, bioS-simple and the bioR proxy: byte-level BPE.

The paper tokenizes its biographies with GPT2's BPE, so a name or a value is several tokens and the
embedding is a small share of the model. kcl's word-level vocabulary (``kcl.tokenizer``) gives each
name part and value word its own row instead; at d = 32 that is 70-78% of the model. This module
loads a byte-level BPE trained on the rendered data (``kcl.bpe_training`` trains it; the trained
file ships in ``kcl/data/tokenizers``) behind the interface of ``kcl.tokenizer.Vocab``.

Every word's last token carries an end-of-word mark (``</w>``, as in the original BPE), besides the
byte-level space mark at its start. So the tokens of one word always say where it ends, and the
encodings of the words of a pool form a prefix code: no name part's or value's tokens are a prefix
of another's. The bit formulas need that: the probability the model gives a name's tokens is then
the probability of that name, and the probabilities of a pool's names sum to at most one.

Pieces of a biography are encoded one at a time, each with the spaces it has in the text (``" was
born on"``, ``" October 2, 1996"``, ``"."``). Piece boundaries fall on the pre-tokenizer's word
boundaries, so the pieces' tokens are the whole text's tokens.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Iterable

from kcl.tokenizer import EOS, PAD, SPECIALS, TokenList

#: the subword tokenizers that ship with kcl: name → file in kcl/data/tokenizers
TOKENIZER_FILES = {"bpe": "bios-bpe.json"}
END_OF_WORD = "</w>"


class SubwordVocab(TokenList):
    """A trained ``tokenizers.Tokenizer`` with ``Vocab``'s interface: ids 0 and 1 are the
    end-of-text and pad tokens; ``encode`` takes a piece of text with its spaces."""

    def __init__(self, tokenizer):
        self.tokenizer = tokenizer
        vocab = tokenizer.get_vocab()
        if tuple(tokenizer.id_to_token(i) for i in range(len(SPECIALS))) != SPECIALS:
            raise ValueError(f"a subword tokenizer must give ids 0, 1 to the special tokens {SPECIALS}")
        self.tokens = [tokenizer.id_to_token(i) for i in range(len(vocab))]
        self.index = vocab

    @classmethod
    def from_file(cls, path: str | Path) -> "SubwordVocab":
        from tokenizers import Tokenizer

        return cls(Tokenizer.from_file(str(path)))

    def encode(self, text: str) -> list[int]:
        return self.tokenizer.encode(text, add_special_tokens=False).ids

    def decode(self, ids: Iterable[int]) -> str:
        return self.tokenizer.decode([int(i) for i in ids], skip_special_tokens=False).strip()

    def save(self, path: str | Path) -> None:
        self.tokenizer.save(str(path))

    def to_hf(self):
        """A transformers ``PreTrainedTokenizerFast`` with the same ids (for exported models)."""
        from transformers import PreTrainedTokenizerFast

        return PreTrainedTokenizerFast(tokenizer_object=self.tokenizer, eos_token=EOS, pad_token=PAD,
                                       bos_token=EOS, unk_token=PAD)


def tokenizer_path(name: str):
    """The packaged file of subword tokenizer ``name`` (a key of ``TOKENIZER_FILES``)."""
    if name not in TOKENIZER_FILES:
        raise ValueError(f"tokenizer must be 'word' or one of {', '.join(map(repr, TOKENIZER_FILES))}, got {name!r}")
    return resources.files("kcl").joinpath("data", "tokenizers", TOKENIZER_FILES[name])


@lru_cache(maxsize=None)
def load_subword(name: str) -> SubwordVocab:
    """The packaged subword tokenizer ``name``, loaded once."""
    path = tokenizer_path(name)
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: `python -m kcl.bpe_training` writes it")
    return SubwordVocab.from_file(path)
