"""Memorizable and extractable accuracy (kcl.extraction) on hand-built and tiny trained models."""

import warnings

import numpy as np
import pytest
import torch

from kcl.capacity import measurement_bios
from kcl.data import DataConfig, make_dataset
from kcl.data.bios import _date_text
from kcl.extraction import (EXTRACTION_ATTRIBUTES, LORA_GRID, LORA_TARGETS, QA_WORDINGS, LoraSettings,
                            attribute_columns, exact_matches, extractable_accuracy, fine_tune, lora_model,
                            memorizable_accuracy, qa_texts, split_people)
from kcl.models import ModelConfig, build_model
from kcl.people import value_lists
from kcl.train import TrainConfig, train

N = 8
SIMPLE = {tok: DataConfig(name="bioS-simple", n_people=N, tokenizer=tok) for tok in ("word", "bpe")}
PAPER_PAIRS = {(8, 2), (16, 2), (8, 4), (32, 4), (8, 8), (32, 8), (128, 8), (32, 16), (128, 16)}


class LookupModel(torch.nn.Module):
    """A hand-built model: at every position, all the mass on the token ``table`` gives for the
    prefix so far (token 0 where the prefix is not in the table)."""

    def __init__(self, table: dict, vocab_size: int):
        super().__init__()
        self.table, self.vocab_size = table, vocab_size
        self.anchor = torch.nn.Parameter(torch.zeros(1))  # where the measurement reads the device from

    def forward(self, idx):
        out = torch.zeros(*idx.shape, self.vocab_size)
        for b, row in enumerate(idx.tolist()):
            for t in range(len(row)):
                out[b, t, self.table.get(tuple(row[: t + 1]), 0)] = 10.0
        return out


def lookup_table(bios, eos: int) -> dict:
    """Prefix (EOS + a bio's first t tokens) → the bio's token t, for every bio."""
    table = {}
    for i in range(len(bios)):
        seq = [eos] + bios.bio(i).tolist()
        for t in range(1, len(seq)):
            table[tuple(seq[:t])] = seq[t]
    return table


def tiny_model(ds, exposures: int):
    """A 2-layer, width-32 GPT2 trained on ``ds`` for ``exposures`` passes (about a second)."""
    torch.manual_seed(0)
    model = build_model(ModelConfig(arch="gpt2", vocab_size=len(ds.vocab), n_layer=2, n_head=2, d_model=32))
    train(model, ds, TrainConfig(exposures=exposures, batch_size=8, lr=1e-2, packing="per_bio", warmup_frac=0.0),
          progress=False, device="cpu")
    return model


@pytest.fixture(scope="module")
def memorized():
    """bioS-simple(N=8), word-level, trained until every value of every person is memorized."""
    ds = make_dataset(SIMPLE["word"])
    return ds, tiny_model(ds, 100)


def value_text(ds, p: int, attribute: str) -> str:
    """Person ``p``'s value of ``attribute`` from the people table and the value lists."""
    person, lists = ds.people.iloc[p], value_lists()
    if attribute == "birth_date":
        return _date_text(person.birth_month, person.birth_day, person.birth_year).strip()
    table = {"birth_city": lists.cities, "university": lists.universities, "major": lists.majors,
             "employer": lists.employers}[attribute]
    return table[person[attribute]]


def full_name(ds, p: int) -> str:
    first, middle, last = ds.pools.parts()
    person = ds.people.iloc[p]
    return f"{first[person['first']]} {middle[person['middle']]} {last[person['last']]}"


def squeeze(text: str) -> str:
    return "".join(text.split())


# -- memorizable accuracy ----------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["bioS-simple", "bioS"])
@pytest.mark.parametrize("method", ["teacher_forced", "generate"])
def test_a_model_that_knows_every_text_is_exact_and_one_wrong_token_costs_one_person(name, method):
    ds = make_dataset(DataConfig(name=name, n_people=N))
    bios = measurement_bios(ds)[0]
    table = lookup_table(bios, ds.vocab.eos_id)
    assert memorizable_accuracy(LookupModel(table, len(ds.vocab)), ds, method=method)["mean"] == 1.0
    # person 3's university: its second token is predicted wrong
    i = int(np.nonzero(bios.person == 3)[0][0])
    column = ds.attributes.index("university")
    start = int(np.nonzero((bios.role[bios.offsets[i]: bios.offsets[i + 1]] == 2)
                           & (bios.attr[bios.offsets[i]: bios.offsets[i + 1]] == column))[0][1])
    prefix = tuple([ds.vocab.eos_id] + bios.bio(i)[:start].tolist())
    table[prefix] = (table[prefix] + 1) % len(ds.vocab)
    out = memorizable_accuracy(LookupModel(table, len(ds.vocab)), ds, method=method)
    assert out["accuracy"] == {a: (1 - 1 / N if a == "university" else 1.0) for a in EXTRACTION_ATTRIBUTES}
    assert out["people"] == pytest.approx(N - 1 / len(EXTRACTION_ATTRIBUTES))
    assert out["settings"]["method"] == method


def test_an_untrained_model_recalls_no_value():
    ds = make_dataset(SIMPLE["word"])
    torch.manual_seed(0)
    model = build_model(ModelConfig(arch="gpt2", vocab_size=len(ds.vocab), n_layer=2, n_head=2, d_model=32))
    out = memorizable_accuracy(model, ds)
    # chance is about 1/3350 per token: none of the 8 people's 5 values
    assert out["mean"] == 0.0 and out["people"] == 0.0


def test_a_model_trained_long_on_eight_people_recalls_them_all(memorized):
    ds, model = memorized
    for method in ("teacher_forced", "generate"):
        assert memorizable_accuracy(model, ds, method=method)["mean"] == 1.0


@pytest.mark.parametrize("tokenizer", ["word", "bpe"])
def test_teacher_forced_exact_match_is_real_greedy_generation(tokenizer):
    ds = make_dataset(SIMPLE[tokenizer])
    model = tiny_model(ds, 70)  # part way: some values recalled, some not
    columns = attribute_columns(ds, EXTRACTION_ATTRIBUTES)
    bios = measurement_bios(ds)[0]
    forced = exact_matches(model, bios, ds, columns, "teacher_forced")
    generated = exact_matches(model, bios, ds, columns, "generate")
    assert forced.any() and not forced.all()
    np.testing.assert_array_equal(forced, generated)


# -- question-answer texts ---------------------------------------------------------------------------
@pytest.mark.parametrize("tokenizer", ["word", "bpe"])
@pytest.mark.parametrize("name", ["bioS-simple", "bioS"])
def test_qa_texts_ask_in_the_template_wording_and_answer_with_the_value(tokenizer, name):
    ds = make_dataset(DataConfig(name=name, n_people=N, tokenizer=tokenizer))
    people = [1, 6]
    qa = qa_texts(ds, people)
    assert len(qa) == len(people) * len(EXTRACTION_ATTRIBUTES)
    for i in range(len(qa)):
        p, attribute = people[i // 5], EXTRACTION_ATTRIBUTES[i % 5]
        tokens, role = qa.bio(i), qa.role[qa.offsets[i]: qa.offsets[i + 1]]
        question = QA_WORDINGS["template"][attribute].format(name=full_name(ds, p))
        answer = value_text(ds, p, attribute)
        assert qa.person[i] == p
        assert squeeze(ds.vocab.decode(tokens)) == squeeze(f"{question} {answer}")
        assert squeeze(ds.vocab.decode(tokens[role == 2])) == squeeze(answer)
        assert set(qa.attr[qa.offsets[i]: qa.offsets[i + 1]][role == 2]) == {ds.attributes.index(attribute)}
        if tokenizer == "bpe":  # question and answer encoded apart: the tokens of the whole text
            assert ds.vocab.encode(ds.vocab.decode(tokens)) == tokens.tolist()


@pytest.mark.parametrize("tokenizer, word", [("word", "What"), ("bpe", "?")])
def test_the_paper_wording_is_refused_naming_the_word_the_vocabulary_lacks(tokenizer, word):
    ds = make_dataset(SIMPLE[tokenizer])
    with pytest.raises(ValueError, match=f"the word {word!r}"):
        qa_texts(ds, [0], wording="paper")


def test_a_wording_of_ones_own_is_checked():
    ds = make_dataset(SIMPLE["word"])
    own = {a: "Quizzically , {name} is" for a in EXTRACTION_ATTRIBUTES}
    with pytest.raises(ValueError, match="the word 'Quizzically'"):
        qa_texts(ds, [0], wording=own)
    with pytest.raises(ValueError, match="wording has no question for attribute 'birth_city'"):
        qa_texts(ds, [0], wording={"birth_date": "{name} was born on"})
    with pytest.raises(ValueError, match="must hold {name} once"):
        qa_texts(ds, [0], wording={a: "the major is" for a in EXTRACTION_ATTRIBUTES})
    with pytest.raises(ValueError, match="wording must be one of"):
        qa_texts(ds, [0], wording="quiz")


def test_the_halves_split_the_people():
    train_half, test_half = split_people(9, seed=3)
    assert len(train_half) == 5 and len(test_half) == 4
    assert sorted(np.concatenate([train_half, test_half])) == list(range(9))
    assert not np.array_equal(split_people(9, seed=4)[0], train_half)


# -- LoRA --------------------------------------------------------------------------------------------
def test_lora_trains_only_the_adapters_and_learns_the_training_half(memorized):
    ds, model = memorized
    before = {k: v.clone() for k, v in model.state_dict().items()}
    settings = LoraSettings(rank=4, embedding_rank=8, lr=1e-2, epochs=60)
    train_half, _ = split_people(N)
    qa = qa_texts(ds, train_half)
    columns = attribute_columns(ds, EXTRACTION_ATTRIBUTES)
    tuned = lora_model(model, settings)
    start = exact_matches(tuned, qa, ds, columns)[train_half].mean()
    adapters = {n: p.detach().clone() for n, p in tuned.named_parameters() if p.requires_grad}
    assert adapters and all("lora_" in n for n in adapters)
    fine_tune(tuned, qa, settings, ds.vocab.eos_id, ds.vocab.pad_id)
    matches = exact_matches(tuned, qa, ds, columns)[train_half]
    assert start <= 0.2 and matches.mean() >= 0.8
    np.testing.assert_array_equal(matches, exact_matches(tuned, qa, ds, columns, "generate")[train_half])
    # every adapter moved; the base weights, in the copy and in the model, are bit for bit the same
    assert all(not torch.equal(p, adapters[n]) for n, p in tuned.named_parameters() if p.requires_grad)
    base = {k.replace(".base_layer", ""): v for k, v in tuned.get_base_model().state_dict().items() if "lora_" not in k}
    assert base.keys() == before.keys()
    assert all(torch.equal(base[k], before[k]) for k in before)
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())
    assert not any("lora" in n for n, _ in model.named_modules())


def test_extractable_accuracy_reports_both_halves_and_its_settings(memorized):
    ds, model = memorized
    settings = LoraSettings(rank=4, embedding_rank=8, lr=1e-2, epochs=60)
    out = extractable_accuracy(model, ds, settings)
    assert set(out["accuracy"]) == set(out["train_accuracy"]) == set(EXTRACTION_ATTRIBUTES)
    assert out["mean"] == pytest.approx(np.mean(list(out["accuracy"].values())))
    assert out["people"] == pytest.approx(out["mean"] * N)
    assert out["train_mean"] >= 0.8
    used = out["settings"]
    assert used["train_people"] == used["test_people"] == N // 2 and used["steps"] == 60
    assert used["lora"]["rank"] == 4 and used["lora"]["targets"] == list(LORA_TARGETS)
    assert used["wording"] == "template" and used["adapter_parameters"] > 0
    # the fine-tuning is seeded: the same again, scored by generation, gives the same numbers
    again = extractable_accuracy(model, ds, settings, method="generate")
    assert again["accuracy"] == out["accuracy"] and again["train_accuracy"] == out["train_accuracy"]


def test_adapters_go_only_where_the_targets_say(memorized):
    ds, model = memorized
    tuned = lora_model(model, LoraSettings(rank=2, embedding_rank=4, targets=("tok_emb", "attn.qkv")))
    adapted = {n.rsplit(".lora_", 1)[0] for n, p in tuned.named_parameters() if p.requires_grad}
    assert {n.split("model.", 2)[-1] for n in adapted} == {"tok_emb", "blocks.0.attn.qkv", "blocks.1.attn.qkv"}
    emb, qkv = tuned.get_base_model().tok_emb, tuned.get_base_model().blocks[0].attn.qkv
    assert emb.r["default"] == 4 and qkv.r["default"] == 2
    assert emb.scaling["default"] == qkv.scaling["default"] == 1.0  # alpha None: alpha = rank
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no embedding pattern left unmatched
        alone = lora_model(model, LoraSettings(targets=("attn.qkv",)))
    assert not any("tok_emb.lora" in n for n, _ in alone.named_parameters())


def test_the_default_grid_is_drawn_from_the_papers_pairs():
    assert {(s.embedding_rank, s.rank) for s in LORA_GRID} <= PAPER_PAIRS
    assert len({(s.embedding_rank, s.rank, s.lr) for s in LORA_GRID}) == len(LORA_GRID) >= 2


# -- bad inputs ------------------------------------------------------------------------------------
def test_bad_knobs_are_named():
    ds = make_dataset(SIMPLE["word"])
    with pytest.raises(ValueError, match="attributes: unknown attribute 'shoe_size'"):
        attribute_columns(ds, ["birth_date", "shoe_size"])
    with pytest.raises(ValueError, match="attributes: unknown attribute 'company_city'"):
        qa_texts(ds, [0], attributes=["company_city"])
    with pytest.raises(ValueError, match="method must be one of"):
        memorizable_accuracy(LookupModel({}, len(ds.vocab)), ds, method="beam")
    for knob, value in (("rank", 0), ("embedding_rank", 0), ("epochs", 0), ("batch_size", 0)):
        with pytest.raises(ValueError, match=f"LoraSettings.{knob} must be"):
            LoraSettings(**{knob: value})
    with pytest.raises(ValueError, match="LoraSettings.targets: unknown module 'attn.q'"):
        LoraSettings(targets=("attn.q",))
    with pytest.raises(ValueError, match="LoraSettings.lr must be > 0"):
        LoraSettings(lr=0.0)


def test_a_target_the_model_lacks_is_named():
    ds = make_dataset(SIMPLE["word"])
    model = build_model(ModelConfig(arch="gpt2_no_mlp", vocab_size=len(ds.vocab), n_layer=1, n_head=2, d_model=32))
    with pytest.raises(ValueError, match="LoraSettings.targets: the model has no module 'mlp.fc'"):
        lora_model(model, LoraSettings())
