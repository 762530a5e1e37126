"""Train the packaged subword tokenizer (``kcl.subword``) on rendered biographies, offline.

One byte-level BPE serves bioS, bioS-simple and the bioR proxy. Its training text is, in a fixed
order: every name of the three pools and every value once (so the merges see each of them),
then ``renderings`` fresh bioS texts, the bioS-simple text and ``renderings`` bioR-proxy rewrites
of ``n_people`` people (name pools 400·400·1000, the paper's). Hugging Face ``tokenizers`` trains it;
the same arguments give the same file (a test retrains it and compares).

    python -m kcl.bpe_training            # writes src/kcl/data/tokenizers/bios-bpe.json
    python -m kcl.bpe_training --check    # retrains and says whether the packaged file is the same
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from kcl.data.bios import Biographies
from kcl.people import MONTHS, NamePools, value_lists
from kcl.subword import END_OF_WORD, tokenizer_path
from kcl.tokenizer import SPECIALS

#: the packaged tokenizer's training knobs (book/protocol.md, "bioS protocol v4")
VOCAB_SIZE = 640
TRAIN_PEOPLE = 2000
RENDERINGS = 4
SEED = 0


def training_texts(n_people: int = TRAIN_PEOPLE, renderings: int = RENDERINGS, seed: int = SEED) -> list[str]:
    """The training text, one biography (or one name or value) per item, each with a leading
    space as it stands in a rendered sequence."""
    lists = value_lists()
    texts = [" " + w for pool in NamePools().parts() for w in pool]
    texts += [" " + v for v in lists.cities + lists.universities + lists.majors + lists.employers
              + lists.employer_cities]
    texts += [f" {m} {d}, {y}" for m in MONTHS for d in (1, 15, 28) for y in range(1900, 2100, 7)]
    people = np.arange(n_people)
    for kind in ("bioS", "bioS-simple", "bioR-proxy"):
        data = Biographies(kind, n_people, seed=seed)
        for r in range(renderings if kind != "bioS-simple" else 1):
            bios = data.render(people, np.random.default_rng([seed, 0xB9E, r]), exposure=r)
            texts += [" " + data.vocab.decode(bios.bio(i)) for i in range(len(bios))]
    return texts


def train_tokenizer(vocab_size: int = VOCAB_SIZE, texts: list[str] | None = None):
    """A byte-level BPE with end-of-word marks (``kcl.subword``) trained on ``texts``."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    if not isinstance(vocab_size, int) or vocab_size < 300:
        raise ValueError(f"vocab_size must be an integer >= 300 (the byte alphabet and the specials), got {vocab_size!r}")
    tokenizer = Tokenizer(models.BPE(end_of_word_suffix=END_OF_WORD))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tokenizer.decoder = decoders.Sequence([decoders.Replace(END_OF_WORD, ""), decoders.ByteLevel()])
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=list(SPECIALS), show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  end_of_word_suffix=END_OF_WORD)
    tokenizer.train_from_iterator(training_texts() if texts is None else texts, trainer)
    return _fixed_ids(tokenizer)


def _fixed_ids(tokenizer):
    """The same tokenizer with ids in a fixed order: the specials, the base symbols sorted, then
    each merge's product in merge order. (The trainer's merges are deterministic; the ids it gives
    the base symbols follow a hash order that changes between processes.)"""
    from tokenizers import Tokenizer

    spec = json.loads(tokenizer.to_str())
    merges = [tuple(m) if isinstance(m, list) else tuple(m.split(" ")) for m in spec["model"]["merges"]]
    products = ["".join(m) for m in merges]
    base = sorted(set(spec["model"]["vocab"]) - set(products) - set(SPECIALS))
    order = list(SPECIALS) + base + [p for p in dict.fromkeys(products)]
    spec["model"]["vocab"] = {token: i for i, token in enumerate(order)}
    for added in spec["added_tokens"]:
        added["id"] = order.index(added["content"])
    return Tokenizer.from_str(json.dumps(spec))


def canonical(tokenizer) -> str:
    """The tokenizer's JSON with sorted keys: equal for equal tokenizers."""
    return json.dumps(json.loads(tokenizer.to_str()), sort_keys=True, indent=1, ensure_ascii=False)


def main(argv: list[str] | None = None) -> int:

    parser = argparse.ArgumentParser(prog="python -m kcl.bpe_training", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="retrain and compare with the packaged file")
    parser.add_argument("--out", type=Path, help="where to write (default: the packaged file)")
    args = parser.parse_args(argv)
    text = canonical(train_tokenizer()) + "\n"
    path = Path(args.out or tokenizer_path("bpe"))
    if args.check:
        same = path.is_file() and path.read_text(encoding="utf-8") == text
        print(f"{path}: {'the same as a fresh training' if same else 'differs from a fresh training'}")
        return 0 if same else 1
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
