"""The packaged subword tokenizer (protocol v4): deterministic, a prefix code over every pool,
pieces that tokenize as the whole text does, the embedding share the protocol states."""

import numpy as np
import pytest

from kcl.bpe_training import canonical, train_tokenizer
from kcl.data import GENDER, NAME, VALUE, DataConfig, make_dataset
from kcl.data.bios import ATTRIBUTES
from kcl.subword import load_subword, tokenizer_path
from kcl.people import KNOWLEDGE_ATTRIBUTES


def bios(name="bioS", n=200):
    return make_dataset(DataConfig(name=name, n_people=n, tokenizer="bpe", rewrites=3))


def test_a_fresh_training_gives_the_packaged_file_byte_for_byte():
    assert canonical(train_tokenizer()) + "\n" == tokenizer_path("bpe").read_text(encoding="utf-8")


def is_prefix_free(sequences) -> bool:
    seqs = sorted(set(map(tuple, sequences)))
    return len(seqs) == len(list(sequences)) and all(b[: len(a)] != a for a, b in zip(seqs, seqs[1:]))


def test_every_pool_and_value_set_is_a_prefix_code_of_distinct_sequences():
    ds = bios()
    for pool in ds.name_part_sequences():
        assert is_prefix_free(pool)
        assert max(map(len, pool)) > 1  # subword: some names are several tokens
    for attr in KNOWLEDGE_ATTRIBUTES:
        assert is_prefix_free(ds.value_sequences(ATTRIBUTES.index(attr))), attr


def test_pieces_tokenize_as_the_whole_text():
    """Each biography's tokens, encoded piece by piece, are those of its decoded text."""
    vocab = load_subword("bpe")
    for name in ("bioS", "bioS-simple", "bioR-proxy"):
        ds = bios(name, 100)
        out = ds.render(np.arange(100), np.random.default_rng(3), with_meta=True)
        for i in range(len(out)):
            assert vocab.encode(" " + ds.vocab.decode(out.bio(i))) == out.bio(i).tolist()


def test_names_values_and_the_gender_pronoun_are_marked_over_their_spans():
    ds = bios()
    out = ds.render(np.arange(5), np.random.default_rng(0), measure=True, with_meta=True)
    for i in range(5):
        sl = slice(out.offsets[i], out.offsets[i + 1])
        role, tokens = out.role[sl], out.tokens[sl]
        assert tuple(tokens[role == NAME]) == ds.name_sequences()[i]
        assert (role == GENDER).sum() == 1
        birth = tuple(tokens[(role == VALUE) & (out.attr[sl] == ATTRIBUTES.index("birth_date"))])
        assert birth in set(ds.value_sequences(ATTRIBUTES.index("birth_date")))


def test_the_protocol_v4_model_spends_at_most_30_percent_on_the_embedding():
    from kcl.params import count_parameters
    from kcl.book.chapters import chapter_sweep
    from kcl.config import build

    _, _, configs = chapter_sweep("result2-v4", "cpu")
    config = next(c for c in configs if c.data.name == "bioS")
    dataset, model = build(config)
    params = count_parameters(model, dataset.used_token_ids())
    assert 1 - params["non_embedding"] / params["total"] <= 0.30
    assert dataset.max_bits()["total"] / params["total"] == pytest.approx(2.46, abs=0.01)


def test_subword_tokens_are_for_biographies_only():
    with pytest.raises(ValueError, match="tokenizer 'bpe' applies to"):
        DataConfig(name="bioD", tokenizer="bpe")
    with pytest.raises(ValueError, match="tokenizer must be one of"):
        DataConfig(name="bioS", tokenizer="gpt2")


def test_word_level_records_keep_their_keys():
    from kcl.store import config_key

    assert config_key(DataConfig(name="bioS")) == config_key(DataConfig(name="bioS", tokenizer="word"))
    assert config_key(DataConfig(name="bioS")) != config_key(DataConfig(name="bioS", tokenizer="bpe"))
