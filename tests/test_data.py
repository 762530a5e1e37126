import math

import numpy as np
import pytest

from kcl.data import GENDER, NAME, VALUE, DataConfig, data_label, make_dataset
from kcl.store import config_dict
from kcl.data.bios import ATTRIBUTES
from kcl.tokenizer import Vocab

SMALL = dict(n_people=60, seed=5)


def bios_of(name, **kw):
    return make_dataset(DataConfig(name=name, **{**SMALL, **kw}))


def render(ds, people, seed, **kw):
    return ds.render(np.asarray(people), np.random.default_rng(seed), with_meta=True, **kw)


def value_texts(ds, bios, i):
    """{attribute: decoded value} of bio i, read from the knowledge marks."""
    sl = slice(bios.offsets[i], bios.offsets[i + 1])
    toks, role, attr = bios.tokens[sl], bios.role[sl], bios.attr[sl]
    return {ds.attributes[a]: ds.vocab.decode(toks[(role == VALUE) & (attr == a)])
            for a in sorted(set(attr[role == VALUE]))}


@pytest.mark.parametrize("name", ["bioS", "bioS-simple", "bioR-proxy"])
def test_a_person_has_the_same_attributes_in_every_exposure(name):
    ds = bios_of(name, rewrites=3)
    first = render(ds, [7, 8], seed=0, exposure=0)
    for e in range(1, 6):
        other = render(ds, [7, 8], seed=e, exposure=e)
        assert value_texts(ds, first, 0) == value_texts(ds, other, 0)
        assert value_texts(ds, first, 1) == value_texts(ds, other, 1)
    # and across builds with the same seed (a fresh object, not the cache)
    from kcl.data.bios import Biographies
    rebuilt = Biographies(name, 60, seed=5, rewrites=3)
    assert value_texts(ds, first, 0) == value_texts(rebuilt, render(rebuilt, [7], seed=9), 0)


def test_bios_renders_a_fresh_text_at_every_exposure():
    ds = bios_of("bioS")
    texts = {tuple(render(ds, [3], seed=s).bio(0)) for s in range(30)}
    assert len(texts) >= 29  # 50^6·6! texts: repeats would mean a finite pool (bioS-simple)


def test_bios_simple_repeats_its_one_text():
    ds = bios_of("bioS-simple")
    texts = {tuple(render(ds, [3], seed=s, exposure=s).bio(0)) for s in range(10)}
    assert len(texts) == 1


def test_bior_proxy_has_m_distinct_rewrites_with_filler():
    ds = bios_of("bioR-proxy", rewrites=4)
    texts = [tuple(render(ds, [3], seed=0, exposure=e).bio(0)) for e in range(8)]
    assert len(set(texts)) == 4 and texts[:4] == texts[4:]
    plain = bios_of("bioS-simple")
    assert np.mean([len(t) for t in texts]) > len(render(plain, [3], seed=0).bio(0))  # filler added


def test_bior_proxy_without_fillers_has_no_filler_words():
    with_fillers, without = bios_of("bioR-proxy", rewrites=4), bios_of("bioR-proxy", rewrites=4, fillers=[0, 0])
    only_in_fillers = set(with_fillers.vocab.tokens) - set(without.vocab.tokens)
    assert only_in_fillers  # the filler sentences' own words leave the vocabulary ...
    assert len(without.used_token_ids()) == len(with_fillers.used_token_ids()) - len(only_in_fillers)  # ... and the count
    filler_ids = {with_fillers.vocab.id(w) for w in only_in_fillers}
    for e in range(4):  # every rewrite with 1-3 filler sentences has some of them, and is longer
        long, short = (render(ds, [3], seed=0, exposure=e).bio(0) for ds in (with_fillers, without))
        assert filler_ids & set(long.tolist()) and len(short) < len(long)


def test_bior_proxy_on_bios_templates_has_bios_vocabulary():
    bios = bios_of("bioS")
    proxy = bios_of("bioR-proxy", rewrites=4, fillers=[0, 0], templates="bioS")
    larger = bios_of("bioR-proxy", rewrites=4, fillers=[0, 0])
    assert proxy.vocab.tokens == bios.vocab.tokens  # the same words: it differs from bioS only by its fixed rewrites
    assert proxy.used_token_ids().tolist() == bios.used_token_ids().tolist()
    assert set(larger.vocab.tokens) > set(proxy.vocab.tokens)  # the proxy's own templates add words
    texts = [tuple(render(proxy, [3], seed=0, exposure=e).bio(0)) for e in range(8)]
    assert len(set(texts)) == 4 and texts[:4] == texts[4:]  # still M fixed rewrites


def test_name_first_then_pronouns_and_one_gender_mark():
    ds = bios_of("bioS")
    bios = render(ds, range(20), seed=1)
    for i in range(20):
        sl = slice(bios.offsets[i], bios.offsets[i + 1])
        role = bios.role[sl]
        assert (role[:3] == NAME).all() and (role[3:] != NAME).all()
        assert (role == GENDER).sum() == 1
        g = np.nonzero(role == GENDER)[0][0]
        pron = ds.vocab.tokens[bios.tokens[sl][g]]
        other = ds.vocab.tokens[bios.alt[sl][g]]
        expect = {("He", "She"), ("She", "He"), ("His", "Her"), ("Her", "His")}
        assert (pron, other) in expect
        assert pron in ("He", "His") if ds.people.gender.iat[i] == 0 else pron in ("She", "Her")


def test_measurement_puts_the_employer_before_the_company_city():
    ds = bios_of("bioS", n_people=300)
    emp, city = ATTRIBUTES.index("employer"), ATTRIBUTES.index("company_city")
    for measure, expect_all in ((True, True), (False, False)):
        bios = render(ds, range(300), seed=2, measure=measure)
        before = []
        for i in range(300):
            sl = slice(bios.offsets[i], bios.offsets[i + 1])
            a, r = bios.attr[sl], bios.role[sl]
            before.append(np.nonzero((a == emp) & (r == VALUE))[0][0] < np.nonzero((a == city) & (r == VALUE))[0][0])
        assert all(before) if expect_all else 0.3 < np.mean(before) < 0.7


@pytest.mark.parametrize("name", ["bioS", "bioR-proxy"])
def test_value_sets_are_prefix_free(name):
    # a value that is a prefix of another would let the loss skip the "value ends here" event
    ds = bios_of(name)
    for a in range(len(ds.attributes)):
        seqs = ds.value_sequences(a)
        assert len(set(seqs)) == len(seqs)
        prefixes = {s[:j] for s in seqs for j in range(1, len(s))}
        assert not prefixes & set(seqs), ds.attributes[a]


def test_used_tokens_cover_every_rendered_token():
    for name in ("bioS", "bioS-simple", "bioR-proxy"):
        ds = bios_of(name, rewrites=2)
        used = set(ds.used_token_ids())
        for e in range(3):
            assert set(render(ds, range(60), seed=e, exposure=e).tokens) <= used
        assert ds.vocab.pad_id not in used and ds.vocab.eos_id in used


def test_biod_follows_definition_2_2():
    ds = make_dataset(DataConfig(name="bioD", n_people=200, K=3, C=2, D=5, L=2, T=4, pools=(10, 10, 10)))
    assert ds.diversity.shape == (3, 5, 2)
    for k in range(3):  # D distinct strings of T^L per attribute
        assert len({tuple(r) for r in ds.diversity[k]}) == 5
    bios = render(ds, range(200), seed=0)
    assert (bios.lengths == 3 + 3 * (1 + 2 * 2)).all()
    # every value is C chunks, each one of the attribute's D strings
    vals = ds._value_table - ds._sym0
    for k in range(3):
        chunks = {tuple(c) for c in vals[:, k].reshape(-1, 2)}
        assert chunks <= {tuple(r) for r in ds.diversity[k]}
    # the same person's values in any order of attributes
    again = render(ds, range(200), seed=1)
    for i in (0, 57):
        assert value_texts(ds, bios, i) == value_texts(ds, again, i)
    # vocabulary: EOS, PAD, 30 name parts, K attribute tokens, T symbols
    assert len(ds.vocab) == 2 + 30 + 3 + 4


def test_biod_reference_vocabulary():
    ds = make_dataset(DataConfig(name="bioD", n_people=1000, K=4, C=4, D=64, L=1, T=64, pools=(100, 100, 100)))
    assert len(ds.vocab) == 370 and ds.bio_length == 23  # + EOS on both sides: 25 tokens a sequence
    assert len(ds.used_token_ids()) == 369  # the pad token never occurs


def test_random_strings():
    ds = make_dataset(DataConfig(name="random", n_people=30, length=5, T=7, pools=(10, 10, 10)))
    bios = render(ds, range(30), seed=0)
    assert (bios.lengths == 8).all()
    assert ds.max_bits()["total"] == pytest.approx(30 * 5 * math.log2(7))


@pytest.mark.parametrize("kw, message", [
    (dict(name="bioX"), "unknown data set"),
    (dict(n_people=0), r"n_people \(N\) must be in \[1"),
    (dict(n_people=10**9), r"n_people \(N\) must be in \[1, 160,000,000\]"),
    (dict(name="bioD", K=0), r"K must be in \[1"),
    (dict(name="bioD", C=0), r"C must be in \[1"),
    (dict(name="bioD", L=0), r"L must be in \[1"),
    (dict(name="bioD", T=0), r"T must be in \[1"),
    (dict(name="bioD", D=0), r"D must be in \[1"),
    (dict(name="bioD", D=17, T=4, L=2), r"D must be in \[1, T\^L = 16\]"),
    (dict(name="bioR-proxy", rewrites=0), r"rewrites \(M\) must be in \[1"),
    (dict(name="bioR-proxy", fillers=(-1, 2)), r"fillers \(at least\) must be in \[0"),
    (dict(name="bioR-proxy", fillers=(3, 2)), r"fillers \(at most\) must be in \[3"),
    (dict(name="bioR-proxy", fillers=(1,)), "fillers must be two counts"),
    (dict(name="bioR-proxy", templates="bioR"), r"templates must be one of 'bioS\+bioR', 'bioS'"),
    (dict(pools=(1, 2)), "three sizes"),
])
def test_bad_knobs_are_refused_with_the_knob_and_range(kw, message):
    with pytest.raises(ValueError, match=message):
        DataConfig(**kw)


@pytest.mark.parametrize("kw, label", [
    (dict(name="bioD", n_people=10, K=2, C=3, D=4, L=2, T=5), "bioD(N=10,K=2,C=3,D=4,L=2,T=5)"),
    (dict(name="bioR-proxy", n_people=10, rewrites=4), "bioR-proxy(N=10,M=4)"),
    (dict(name="bioR-proxy", n_people=10, rewrites=4, fillers=[0, 0]), "bioR-proxy(N=10,M=4,fillers=0-0)"),
    (dict(name="bioR-proxy", n_people=10, rewrites=4, fillers=[0, 0], templates="bioS"),
     "bioR-proxy(N=10,M=4,fillers=0-0,templates=bioS)"),
    (dict(name="random", n_people=10, length=5, T=7), "random(N=10,length=5,T=7)"),
    (dict(name="bioS", n_people=10), "bioS(N=10)"),
])
def test_a_config_and_its_record_carry_one_label(kw, label):
    config = DataConfig(**kw)
    assert config.label() == data_label(config_dict(config)) == label


def test_bioD_label_can_name_its_population_of_names():
    data = config_dict(DataConfig(name="bioD", n_people=10, K=2, C=3, D=4, L=2, T=5, pools=(10, 20, 30)))
    assert data_label(data, names_population=True) == "bioD(N=10,K=2,C=3,D=4,L=2,T=5,N0=6e+03)"
    bios = config_dict(DataConfig(name="bioS", n_people=10))
    assert data_label(bios, names_population=True) == data_label(bios) == "bioS(N=10)"


def test_tokenizer_round_trip_and_hf_export():
    vocab = Vocab.from_texts(["Anya Briar Forger's birthday is October 2, 1996."])
    ids = vocab.encode("Anya Briar Forger's birthday is October 2, 1996.")
    assert vocab.decode(ids) == "Anya Briar Forger's birthday is October 2, 1996."
    assert vocab.tokens[:2] == ["<|endoftext|>", "<pad>"]
    hf = vocab.to_hf()
    assert hf("Anya Briar Forger's birthday is October 2, 1996.")["input_ids"] == ids


def test_biod_attribute_order_per_exposure_per_person_or_fixed():
    import numpy as np

    from kcl.data import DataConfig, make_dataset
    from kcl.store import config_key

    def orders(order):
        ds = make_dataset(DataConfig(name="bioD", n_people=30, K=4, C=1, D=5, L=1, T=5, pools=(10, 10, 10),
                                     order=order))
        out = []
        for e in range(2):
            bios = ds.render(np.arange(30), np.random.default_rng([7, e]), exposure=e, with_meta=True)
            attr = bios.attr.reshape(30, -1)
            out.append(attr[:, 4::2])  # the attribute of each value slot, in the paragraph's order
        return out

    first, second = orders("exposure")
    assert (first != second).any()  # drawn again at every exposure
    first, second = orders("person")
    assert (first == second).all() and len({tuple(r) for r in first}) > 1  # kept, and differs between people
    first, second = orders("fixed")
    assert (first == np.arange(4)).all() and (second == np.arange(4)).all()
    assert config_key(DataConfig(name="bioD")) == config_key(DataConfig(name="bioD", order="exposure"))
    with pytest.raises(ValueError, match="order 'person' applies to bioD"):
        DataConfig(name="bioS", order="person")
