"""The toy language (METHOD section 8) and a GRU trained on it to high accuracy."""

from core.data import toy
from core.models.bow import fit_bow
from core.data.text import Vocab, tokenize
from core.experiments.train import TrainConfig, train


def test_score_follows_the_rules():
    assert toy.score("good".split()) == 1
    assert toy.score("not good".split()) == -1
    assert toy.score("not the a and good".split()) == -1          # 4th token after "not": still flipped
    assert toy.score("not the a and it good".split()) == 1        # 5th token: out of reach
    assert toy.score("very awful".split()) == -4
    assert toy.score("very the awful".split()) == -2              # "very" only doubles the next token
    assert toy.score("not very bad".split()) == 2
    assert toy.score("not not good".split()) == 1


def test_generator_is_seeded_and_balanced():
    a, b = toy.generate(500, seed=3), toy.generate(500, seed=3)
    assert a.texts == b.texts and (a.labels == b.labels).all()
    assert a.texts != toy.generate(500, seed=4).texts
    assert 0.35 < a.labels.mean() < 0.65
    assert all(set(t.split()) <= set(toy.VOCAB) for t in a.texts)
    assert all((toy.score(t.split()) > 0) == bool(y) for t, y in zip(a.texts, a.labels))


def test_toy_gru_trains_to_high_accuracy_and_beats_bow(tmp_path, toy_csv):
    cfg = TrainConfig(name="toy", data=toy_csv, test_data="toy:test", out_dir=str(tmp_path), embed_dim=16,
                      hidden_size=32, epochs=12, lr=1e-2, batch_size=32, min_count=1, max_vocab=100, patience=12)
    metrics = train(cfg, log=lambda m: None)
    assert metrics["test_accuracy"] > 0.9
    assert (tmp_path / "toy" / "weights.pt").exists()
    # A bag of words cannot represent "not": it must do clearly worse on the same data.
    tr, te = toy.generate(4000, seed=0), toy.generate(1000, seed=1)
    vocab = Vocab.build((tokenize(t) for t in tr.texts), min_count=1)
    bow, _ = fit_bow(tr.texts, tr.labels, te.texts, te.labels, vocab)
    bow_acc = float(((bow.logits(te.texts).numpy() > 0) == te.labels).mean())
    assert bow_acc < metrics["test_accuracy"] - 0.1
