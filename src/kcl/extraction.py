"""Knowledge extraction: memorizable and extractable accuracy (paper Remark 1.2, App. A.2).

Two counts of what a trained model knows about the people of bioS / bioS-simple, over five
attributes (birth date, birth city, university, major, employer; company city and gender left out,
as in the paper):

* **memorizable accuracy**: prompt the model with a person's training text up to the start of an
  attribute's value (bioS-simple's fixed text; for bioS a measurement rendering) and check that
  greedy generation of the value's length in tokens gives exactly the value;
* **extractable accuracy** (Parts 3.1/3.2): LoRA fine-tuning (``peft``) on question-answer texts of
  half of the people, then greedy generation of the answer for the other half, exact match.

Each is a share per attribute, their mean, and ``people`` = mean × N, the paper's "# of people"
(memorizable: the sum over the N people of the mean over attributes; extractable: the sum over
the N/2 test people, times 2).

Exact match, two ways, equal by construction (``METHODS``): ``"teacher_forced"`` feeds the true
text and asks that the model's argmax is the true token at every value token (one forward pass:
``kcl.capacity.token_losses``, the same test as the capacity measurement's accuracy);
``"generate"`` runs a real greedy loop, each token fed back. If every teacher-forced argmax is
right, the generated tokens are the true ones one by one (by induction on the position: the
contexts are identical), and the first wrong argmax is the first wrong generated token; so the two
agree up to float rounding between batch shapes. The tests check it on a trained tiny model.

Value and name spans come from the marks the data sets write beside every token (roles ``NAME``
and ``VALUE`` and the ``attr`` index, ``kcl.data.base``); no text is parsed.
"""

from __future__ import annotations

import copy
import math
from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn.functional as F
from peft import LoraConfig, get_peft_model

from kcl.capacity import eos_padded, measurement_bios, person_losses, token_losses
from kcl.data import NAME, OTHER, VALUE, Bios, Dataset
from kcl.people import check_count
from kcl.tokenizer import split_words
from kcl.train import IGNORE

#: the paper's five attributes (Remark 1.2: company city excluded; gender, a pronoun, too)
EXTRACTION_ATTRIBUTES = ("birth_date", "birth_city", "university", "major", "employer")

#: question wordings: per attribute, the text before the answer, ``{name}`` standing for the
#: person's full name. The answer (the value's tokens as in the biographies) follows directly.
#: ``"template"``: "the ⟨attribute⟩ of ⟨name⟩ is", in words every packaged vocabulary has (the
#: word-level one only has the words of the bioS templates, value lists and names: no "What", "?"
#: or "Answer"); the default, so word-level and BPE runs ask the same question.
#: ``"paper"``: Part 3.1's questions. Neither packaged tokenizer encodes them: the word-level
#: vocabulary lacks "What", the BPE lacks a token for a lone "?" or ":" and would drop them
#: silently; ``qa_texts`` refuses them and names the word.
QA_WORDINGS = {
    "template": {
        "birth_date": "the birth date of {name} is",
        "birth_city": "the birth city of {name} is",
        "university": "the university of {name} is",
        "major": "the major of {name} is",
        "employer": "the employer of {name} is",
    },
    "paper": {
        "birth_date": "What is the birth date of {name}? Answer:",
        "birth_city": "What is the birth city of {name}? Answer:",
        "university": "Which university did {name} study? Answer:",
        "major": "What major did {name} study? Answer:",
        "employer": "Which company did {name} work for? Answer:",
    },
}

#: exact match by one teacher-forced pass or by a real greedy generation loop (module docstring)
METHODS = ("teacher_forced", "generate")

#: modules a LoRA adapter can sit on (peft matches these as suffixes of the module names):
#: the token embedding, the fused attention q/k/v projection, the attention output, the MLP's two
#: linears (``kcl.models.transformer``)
LORA_TARGETS = ("tok_emb", "attn.qkv", "attn.out", "mlp.fc", "mlp.proj")
#: the paper's placement (Parameter 3): rank r' on the embedding, rank r on query and value. kcl's
#: q, k and v are one fused matrix, so here the adapter covers the key too.
PAPER_TARGETS = ("tok_emb", "attn.qkv")


@dataclass(frozen=True)
class LoraSettings:
    """One LoRA fine-tuning: adapters, optimizer and the stopping rule.

    ``rank`` (r) is the rank on the linear targets, ``embedding_rank`` (r') on the embedding when
    ``tok_emb`` is a target. ``alpha`` None scales every adapter by 1 (peft's alpha = rank), so a
    rate means the same at every rank. The rest follows Parameter 3: AdamW, no warmup, the rate
    decaying linearly to 0, weight decay 0.1, batch 96. The stopping rule is fixed in advance:
    ``epochs`` passes over the training half's question-answer pairs (the paper's 75,000 steps
    are hundreds of epochs at its smallest N and a fraction of one at its largest).

    With tied embeddings (the GPT2 family) the output head reads the base embedding matrix: the
    embedding's adapter changes the input embedding only, as peft does on a tied GPT-2.
    """

    rank: int = 8
    embedding_rank: int = 32
    targets: tuple[str, ...] = LORA_TARGETS
    alpha: float | None = None
    lr: float = 1e-3
    weight_decay: float = 0.1
    batch_size: int = 96
    epochs: int = 50
    grad_clip: float = 1.0
    seed: int = 0

    def __post_init__(self):
        check_count("LoraSettings.rank", self.rank, 1)
        check_count("LoraSettings.embedding_rank", self.embedding_rank, 1)
        check_count("LoraSettings.batch_size", self.batch_size, 1)
        check_count("LoraSettings.epochs", self.epochs, 1)
        object.__setattr__(self, "targets", tuple(self.targets))
        if not self.targets:
            raise ValueError(f"LoraSettings.targets must name at least one of {', '.join(LORA_TARGETS)}")
        unknown = [t for t in self.targets if t not in LORA_TARGETS]
        if unknown:
            raise ValueError(f"LoraSettings.targets: unknown module {unknown[0]!r}; choose from "
                             f"{', '.join(LORA_TARGETS)}")
        if self.alpha is not None and not self.alpha > 0:
            raise ValueError(f"LoraSettings.alpha must be > 0 (or None: alpha = rank), got {self.alpha!r}")
        if not self.lr > 0:
            raise ValueError(f"LoraSettings.lr must be > 0, got {self.lr!r}")
        if not self.weight_decay >= 0:
            raise ValueError(f"LoraSettings.weight_decay must be >= 0, got {self.weight_decay!r}")
        if not self.grad_clip >= 0:
            raise ValueError(f"LoraSettings.grad_clip must be >= 0 (0: no clipping), got {self.grad_clip!r}")


#: (r', r) pairs of the default grid: three of Parameter 3's nine, from the smallest to the largest
LORA_RANKS = ((8, 2), (32, 8), (128, 16))
#: rates of the default grid: Parameter 3's 0.001 and 3× it (a tiny model fine-tuned for far fewer
#: steps than the paper's 75,000 may want the larger)
LORA_RATES = (1e-3, 3e-3)
#: the default grid: every (r', r) pair at every rate, the other settings at their defaults; the
#: paper reports the best of its grid (``best_extractable``)
LORA_GRID = tuple(LoraSettings(rank=r, embedding_rank=e, lr=lr) for e, r in LORA_RANKS for lr in LORA_RATES)


# -- checks ---------------------------------------------------------------------------------------
def attribute_columns(dataset: Dataset, attributes) -> list[int]:
    """The ``attr`` mark of each attribute; a ValueError names an attribute not in
    ``EXTRACTION_ATTRIBUTES`` or not in the data set."""
    attributes = tuple(attributes)
    if not attributes:
        raise ValueError(f"attributes must name at least one of {', '.join(EXTRACTION_ATTRIBUTES)}")
    for a in attributes:
        if a not in EXTRACTION_ATTRIBUTES or a not in dataset.attributes:
            raise ValueError(f"attributes: unknown attribute {a!r} for {dataset.name}; choose from "
                             f"{', '.join(x for x in EXTRACTION_ATTRIBUTES if x in dataset.attributes)}")
    return [dataset.attributes.index(a) for a in attributes]


def check_method(method: str) -> str:
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    return method


# -- spans from the marks -------------------------------------------------------------------------
def first_span(mask: np.ndarray) -> slice | None:
    """The first run of consecutive True in ``mask`` (None when there is none)."""
    idx = np.nonzero(mask)[0]
    if not len(idx):
        return None
    gaps = np.nonzero(np.diff(idx) != 1)[0]
    end = idx[gaps[0]] + 1 if len(gaps) else idx[-1] + 1
    return slice(int(idx[0]), int(end))


def value_span(bios: Bios, i: int, column: int) -> slice | None:
    """Where bio ``i`` states its value of attribute ``column``, relative to the bio's start."""
    sl = slice(bios.offsets[i], bios.offsets[i + 1])
    return first_span((bios.role[sl] == VALUE) & (bios.attr[sl] == column))


def person_facts(dataset: Dataset, columns: list[int], seed: int = 1234) -> tuple[list, dict]:
    """Every person's name tokens and value tokens of each attribute ``column``, read from one
    measurement rendering's NAME and VALUE marks: (names by person, {column: values by person})."""
    bios = measurement_bios(dataset, seed)[0]
    names, values = [None] * dataset.n_people, {c: [None] * dataset.n_people for c in columns}
    for i, p in enumerate(bios.person):
        tokens, role = bios.bio(i), bios.role[bios.offsets[i]: bios.offsets[i + 1]]
        names[p] = tokens[first_span(role == NAME)]
        for c in columns:
            values[c][p] = tokens[value_span(bios, i, c)]
    return names, values


# -- question-answer texts ------------------------------------------------------------------------
def wording_templates(wording, attributes) -> dict[str, str]:
    """The question template of each attribute: ``wording`` is a key of ``QA_WORDINGS`` or a dict
    attribute → template with one ``{name}``."""
    table = QA_WORDINGS.get(wording) if isinstance(wording, str) else wording
    if not isinstance(table, dict):
        raise ValueError(f"wording must be one of {', '.join(map(repr, QA_WORDINGS))} or a dict "
                         f"attribute -> question with {{name}}, got {wording!r}")
    for a in attributes:
        if a not in table:
            raise ValueError(f"wording has no question for attribute {a!r}")
        if table[a].count("{name}") != 1:
            raise ValueError(f"wording: the question for {a!r} must hold {{name}} once, got {table[a]!r}")
    return {a: table[a] for a in attributes}


def encode_checked(vocab, text: str, what: str) -> list[int]:
    """``text``'s tokens, with a ValueError naming the first word the vocabulary cannot encode:
    a word missing from a word-level vocabulary, or one a subword tokenizer drops or changes
    (the packaged BPE has no token for a lone "?" and drops it without a word)."""
    try:
        ids = vocab.encode(text)
    except KeyError:
        ids = None
    if ids is not None and "".join(vocab.decode(ids).split()) == "".join(text.split()):
        return ids
    missing = next((w for w in split_words(text) if not _encodes(vocab, w)), text)
    raise ValueError(f"{what}: the word {missing!r} of {text!r} is not in the vocabulary "
                     f"({len(vocab)} tokens); use words it has (QA_WORDINGS['template'] uses only words "
                     f"of the bioS templates)")


def _encodes(vocab, word: str) -> bool:
    """Whether ``word`` alone, after a space or not, comes back from the vocabulary unchanged."""
    for text in (word, " " + word):
        try:
            if vocab.decode(vocab.encode(text)).strip() == word:
                return True
        except KeyError:
            pass
    return False


def question_pieces(vocab, template: str, attribute: str) -> tuple[list[int], list[int]]:
    """The tokens before and after the name in one question. Names carry their leading space
    (as in the biographies), so the text before ``{name}`` is encoded without its trailing one."""
    before, after = template.split("{name}")
    what = f"QA question for {attribute} ({template!r})"
    return (encode_checked(vocab, before.rstrip(), what) if before.strip() else [],
            encode_checked(vocab, after, what) if after.strip() else [])


def qa_texts(dataset: Dataset, people, attributes=EXTRACTION_ATTRIBUTES, wording="template",
             seed: int = 1234) -> Bios:
    """One question-answer text per person of ``people`` and attribute, as a ``Bios``: the question
    (its tokens marked ``OTHER``), then the value's tokens as in the biographies, marked ``VALUE``
    with the attribute's ``attr`` mark, so ``kcl.capacity`` scores them like a biography's values."""
    columns = attribute_columns(dataset, attributes)
    templates = wording_templates(wording, attributes)
    pieces = {a: question_pieces(dataset.vocab, templates[a], a) for a in attributes}
    names, values = person_facts(dataset, columns, seed)
    texts, owners = [], []
    for p in np.asarray(people):
        for a, c in zip(attributes, columns):
            before, after = pieces[a]
            question = np.concatenate([before, names[p], after]).astype(np.int64)
            texts.append(_qa_piece(question, values[c][p], c))
            owners.append(p)
    return Bios.from_lists(texts, np.asarray(owners), with_meta=True)


def _qa_piece(question: np.ndarray, answer: np.ndarray, column: int) -> dict:
    """The per-token arrays of one question-answer text (``Bios.from_lists``'s input)."""
    n_q, n_a = len(question), len(answer)
    return {"tokens": np.concatenate([question, answer]), "role": [OTHER] * n_q + [VALUE] * n_a,
            "attr": [-1] * n_q + [column] * n_a, "chunk": [-1] * (n_q + n_a), "alt": [-1] * (n_q + n_a)}


def split_people(n_people: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A seeded split of the people into the fine-tuning half and the test half (the first gets
    the odd one out), each sorted."""
    order = np.random.default_rng([seed, 0x5E17]).permutation(n_people)
    half = (n_people + 1) // 2
    return np.sort(order[:half]), np.sort(order[half:])


# -- exact match ----------------------------------------------------------------------------------
@torch.no_grad()
def greedy_generate(model: torch.nn.Module, prompts: list[np.ndarray], lengths: list[int], pad: int,
                    batch_size: int = 256) -> list[np.ndarray]:
    """Greedy continuation of each prompt by ``lengths[i]`` tokens, every token fed back.

    Prompts of different lengths share a batch: each row is right-padded and read at its own
    last position; causal attention keeps the padding after a row's end out of its logits.
    """
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    out: list[np.ndarray] = [np.zeros(0, np.int64)] * len(prompts)
    order = np.argsort([len(p) + n for p, n in zip(prompts, lengths)], kind="stable")
    for start in range(0, len(order), batch_size):
        idx = order[start: start + batch_size]
        ends = np.array([len(prompts[i]) for i in idx])
        news = np.array([lengths[i] for i in idx])
        seqs = torch.full((len(idx), int((ends + news).max())), pad, dtype=torch.long, device=device)
        for row, i in enumerate(idx):
            seqs[row, : ends[row]] = torch.as_tensor(prompts[i], dtype=torch.long)
        for step in range(int(news.max(initial=0))):
            live = np.nonzero(news > step)[0]
            pos = torch.as_tensor(ends[live] + step, device=device)
            rows = torch.as_tensor(live, device=device)
            logits = model(seqs[:, : int(pos.max())])
            seqs[rows, pos] = logits[rows, pos - 1].argmax(-1)
        for row, i in enumerate(idx):
            out[i] = seqs[row, ends[row]: ends[row] + news[row]].cpu().numpy()
    model.train(was_training)
    return out


def generated_matches(model: torch.nn.Module, bios: Bios, n_people: int, columns: list[int], eos: int,
                      pad: int, batch_size: int = 256) -> np.ndarray:
    """[n_people, len(columns)]: whether greedy generation from ``EOS`` + the bio up to each value
    gives the value exactly (True where a person has no such value in ``bios``)."""
    prompts, golds, keys = [], [], []
    for i in range(len(bios)):
        tokens = bios.bio(i)
        for k, c in enumerate(columns):
            span = value_span(bios, i, c)
            if span is not None:
                prompts.append(np.concatenate([[eos], tokens[: span.start]]).astype(np.int64))
                golds.append(tokens[span])
                keys.append((int(bios.person[i]), k))
    generated = greedy_generate(model, prompts, [len(g) for g in golds], pad, batch_size)
    out = np.ones((n_people, len(columns)), bool)
    for (p, k), gen, gold in zip(keys, generated, golds):
        out[p, k] &= bool(np.array_equal(gen, gold))
    return out


def teacher_forced_matches(model: torch.nn.Module, bios: Bios, n_people: int, columns: list[int], eos: int,
                           pad: int, batch_size: int = 256) -> np.ndarray:
    """[n_people, len(columns)]: whether the argmax is the true token at every value token, the
    true text fed in (``kcl.capacity``'s exact match; True where a person has no such value)."""
    loss, correct = token_losses(model, bios, eos, pad, batch_size)
    n_attributes = int(bios.attr.max(initial=max(columns))) + 1
    return person_losses(bios, loss, correct, n_people, n_attributes)["exact"][:, columns]


def exact_matches(model, bios: Bios, dataset: Dataset, columns: list[int], method: str = "teacher_forced",
                  batch_size: int = 256) -> np.ndarray:
    """[N, len(columns)] exact matches of the values in ``bios`` by ``method`` (``METHODS``)."""
    match = generated_matches if check_method(method) == "generate" else teacher_forced_matches
    return match(model, bios, dataset.n_people, columns, dataset.vocab.eos_id, dataset.vocab.pad_id, batch_size)


def accuracy_summary(matches: np.ndarray, attributes, n_people: int) -> dict:
    """Share per attribute, their mean, and ``people`` = mean × N (the paper's "# of people")."""
    shares = matches.mean(axis=0)
    mean = float(shares.mean())
    return {"accuracy": {a: float(s) for a, s in zip(attributes, shares)}, "mean": mean,
            "people": mean * n_people}


# -- memorizable accuracy -------------------------------------------------------------------------
def memorizable_accuracy(model: torch.nn.Module, dataset: Dataset, *, attributes=EXTRACTION_ATTRIBUTES,
                         seed: int = 1234, renderings: int = 1, method: str = "teacher_forced",
                         batch_size: int = 256) -> dict:
    """Memorizable knowledge accuracy (Remark 1.2): the model continues each person's training
    text from the start of a value; exact match per attribute (``matches``: per person), averaged
    over ``renderings`` measurement texts (``kcl.capacity.measurement_bios``, seeded by ``seed``: bioS-simple's fixed
    text; fresh bioS renderings)."""
    columns = attribute_columns(dataset, attributes)
    check_method(method)
    check_count("renderings", renderings, 1)
    matches = np.mean([exact_matches(model, bios, dataset, columns, method, batch_size)
                       for bios in measurement_bios(dataset, seed, renderings)], axis=0)
    out = accuracy_summary(matches, attributes, dataset.n_people)
    out["matches"] = matches.tolist()  # per person and attribute (a share where renderings > 1)
    out["settings"] = {"attributes": list(attributes), "seed": seed, "renderings": renderings, "method": method}
    return out


# -- LoRA fine-tuning -----------------------------------------------------------------------------
def lora_config(settings: LoraSettings) -> LoraConfig:
    """peft's config for ``settings``: rank r on the linear targets, r' on the embedding."""
    alpha = settings.alpha
    embedding = "tok_emb" in settings.targets
    ranks = {"tok_emb": settings.embedding_rank} if embedding else {}
    alphas = ranks if alpha is None else {}  # alpha = rank: scale 1 on the embedding too
    return LoraConfig(r=settings.rank, lora_alpha=settings.rank if alpha is None else alpha,
                      target_modules=list(settings.targets), lora_dropout=0.0, bias="none",
                      rank_pattern=ranks, alpha_pattern=alphas)


def lora_model(model: torch.nn.Module, settings: LoraSettings) -> torch.nn.Module:
    """A copy of ``model`` with LoRA adapters on ``settings.targets`` (peft), only the adapters
    trainable; ``model`` itself is left as it is. The adapters' random start is seeded by
    ``settings.seed`` without touching the caller's random state."""
    names = [n for n, _ in model.named_modules()]
    for target in settings.targets:
        if not any(n == target or n.endswith("." + target) for n in names):
            raise ValueError(f"LoraSettings.targets: the model has no module {target!r} "
                             f"(an arch without it needs other targets)")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(settings.seed)
        return get_peft_model(copy.deepcopy(model), lora_config(settings))


def answer_targets(bios: Bios, rows, width: int) -> np.ndarray:
    """Next-token targets of ``eos_padded(bios, rows)[:, :-1]`` with every token but the answers'
    (``VALUE``) ignored: the loss is on the answer tokens only."""
    targets = np.full((len(rows), width), IGNORE, np.int64)
    for row, i in enumerate(rows):
        sl = slice(bios.offsets[i], bios.offsets[i + 1])
        targets[row, : sl.stop - sl.start] = np.where(bios.role[sl] == VALUE, bios.tokens[sl], IGNORE)
    return targets


def fine_tune(model: torch.nn.Module, qa: Bios, settings: LoraSettings, eos: int, pad: int) -> dict:
    """Train ``model``'s trainable parameters (the adapters of ``lora_model``) on the answers of
    ``qa`` for ``settings.epochs`` shuffled epochs: AdamW, no warmup, the rate decaying linearly to
    0. Returns the steps and the mean answer loss (nats per token) of each epoch."""
    device = next(model.parameters()).device
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=settings.lr, weight_decay=settings.weight_decay, betas=(0.9, 0.98), eps=1e-6)
    per_epoch = math.ceil(len(qa) / settings.batch_size)
    total = per_epoch * settings.epochs
    schedule = torch.optim.lr_scheduler.LambdaLR(opt, lambda step: 1 - step / total)
    rng = np.random.default_rng([settings.seed, 0x0A])
    model.train()
    curve = []
    for _ in range(settings.epochs):
        order, losses = rng.permutation(len(qa)), []
        for start in range(0, len(qa), settings.batch_size):
            rows = order[start: start + settings.batch_size]
            seqs = eos_padded(qa, rows, eos, pad)
            targets = torch.from_numpy(answer_targets(qa, rows, seqs.shape[1] - 1)).to(device)
            logits = model(torch.from_numpy(seqs[:, :-1]).to(device))
            loss = F.cross_entropy(logits.float().flatten(0, 1), targets.flatten(), ignore_index=IGNORE)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if settings.grad_clip:
                torch.nn.utils.clip_grad_norm_(params, settings.grad_clip)
            opt.step()
            schedule.step()
            losses.append(loss.item())
        curve.append(float(np.mean(losses)))
    model.eval()
    return {"steps": total, "loss_curve": curve}


# -- extractable accuracy -------------------------------------------------------------------------
def extractable_accuracy(model: torch.nn.Module, dataset: Dataset, settings: LoraSettings = LoraSettings(), *,
                         attributes=EXTRACTION_ATTRIBUTES, wording="template", seed: int = 1234, split_seed: int = 0,
                         method: str = "teacher_forced", batch_size: int = 256) -> dict:
    """Extractable knowledge accuracy (Remark 1.2, App. A.2): LoRA fine-tuning of a copy of
    ``model`` on the question-answer texts of half of the people (``split_people``), then exact
    match of the generated answers of the other half. ``accuracy``/``mean``/``people`` are the
    test half's, ``matches`` its people's (``test_people``) exact matches per attribute;
    ``train_accuracy``/``train_mean`` the fine-tuned half's (how well the adapters fit what they
    were shown); ``settings`` says how it was measured."""
    columns = attribute_columns(dataset, attributes)
    check_method(method)
    train_people, test_people = split_people(dataset.n_people, split_seed)
    train_qa = qa_texts(dataset, train_people, attributes, wording, seed)
    test_qa = qa_texts(dataset, test_people, attributes, wording, seed)
    tuned = lora_model(model, settings)
    summary = fine_tune(tuned, train_qa, settings, dataset.vocab.eos_id, dataset.vocab.pad_id)
    test = exact_matches(tuned, test_qa, dataset, columns, method, batch_size)[test_people]
    train = exact_matches(tuned, train_qa, dataset, columns, method, batch_size)[train_people]
    out = accuracy_summary(test, attributes, dataset.n_people)
    fitted = accuracy_summary(train, attributes, dataset.n_people)
    out.update(train_accuracy=fitted["accuracy"], train_mean=fitted["mean"], final_loss=summary["loss_curve"][-1])
    out.update(test_people=test_people.tolist(), matches=test.astype(int).tolist())  # per test person and attribute
    out["settings"] = {"lora": {**asdict(settings), "targets": list(settings.targets)},
                       "attributes": list(attributes), "wording": wording, "seed": seed, "split_seed": split_seed,
                       "method": method, "train_people": int(len(train_people)), "test_people": int(len(test_people)),
                       "steps": summary["steps"], "adapter_parameters": adapter_parameters(tuned)}
    return out


def adapter_parameters(model: torch.nn.Module) -> int:
    """How many parameters the fine-tuning trains (the adapters')."""
    return int(sum(p.numel() for p in model.parameters() if p.requires_grad))


def best_extractable(model: torch.nn.Module, dataset: Dataset, grid=LORA_GRID, **kwargs) -> dict:
    """``extractable_accuracy`` at every settings of ``grid``, the best by test mean first (the
    paper reports the best of its grid, Parameter 3): ``{"best": ..., "grid": [...]}``."""
    results = [extractable_accuracy(model, dataset, settings, **kwargs) for settings in grid]
    return {"best": max(results, key=lambda r: r["mean"]), "grid": results}
