"""Language-model pretraining (core.experiments.pretrain) and fine-tuning from it (`train --init-from-lm`), on the
toy language: windows cut as stated, the next-word model learns the language, a stopped run resumes, the
fine-tuned classifier starts from exactly the pretrained embedding and cell, and mismatches are refused."""
from __future__ import annotations

import json

import pytest
import torch

from core.experiments.pretrain import PretrainConfig, pretrain, windows
from core.experiments.train import TrainConfig, train
from core.models.store import ModelError, load_model_dir

SMALL = dict(vocab_data="toy:train", data="toy-long:train", embed_dim=8, hidden_size=16, min_count=1,
             max_vocab=100, bptt=20, batch_size=64)


def test_windows_cut_each_text_into_overlapping_bptt_plus_one_tokens():
    w = windows([[1, 2, 3, 4, 5], [7, 8], [9]], bptt=2)
    assert w.tolist() == [[1, 2, 3], [3, 4, 5], [7, 8, 0]]   # a 1-token text predicts nothing


@pytest.fixture(scope="module")
def lm(tmp_path_factory):
    out = tmp_path_factory.mktemp("lm")
    metrics = pretrain(PretrainConfig(name="toylm", epochs=1, out_dir=str(out), **SMALL), log=lambda m: None)
    return out, metrics


def test_unigram_perplexity_by_hand():
    """Training targets 1, 1, 2 over a vocabulary of 3 (0 is padding): add-one p(1) = 3/5, p(2) = 2/5; held-out
    targets 1 and 2: perplexity exp(-(log 3/5 + log 2/5) / 2) = 1 / sqrt(6/25) = 2.0412."""
    from core.experiments.pretrain import unigram_perplexity
    tr = torch.tensor([[5, 1, 1, 2]])[:, :] % 3   # targets (after the first token) 1, 1, 2
    assert unigram_perplexity(tr, torch.tensor([[0, 1, 2, 0]]), 3) == pytest.approx(1 / (6 / 25) ** 0.5)


def test_the_language_model_reads_context(lm):
    """It beats predicting each word by its frequency (the unigram baseline, 9.6) on held-out toy text after one
    epoch (8.9): the toy language's sentences have an order (a modifier before the word it modifies)."""
    out, metrics = lm
    ppl = metrics["history"][-1]["dev_perplexity"]
    assert metrics["finished"] and ppl < metrics["unigram_perplexity"], (ppl, metrics["unigram_perplexity"])
    assert json.loads((out / "toylm" / "lm-metrics.json").read_text())["command"].startswith("python -m core")


def test_fine_tuning_starts_from_the_pretrained_embedding_and_cell(lm, tmp_path):
    out, _ = lm
    path = str(out / "toylm" / "lm.pt")
    train(TrainConfig(name="ft", data="toy:train", embed_dim=8, hidden_size=16, min_count=1, max_vocab=100,
                      epochs=0, out_dir=str(tmp_path), init_from_lm=path), log=lambda m: None)
    _, _, weights = load_model_dir(tmp_path / "ft")
    pretrained = torch.load(path, weights_only=True)["weights"]
    for k, v in pretrained.items():   # shipped float16: the pretrained weights, rounded
        assert torch.equal(weights[k], v.to(torch.float16).float()), k
    metrics = json.loads((tmp_path / "ft" / "metrics.json").read_text())
    assert metrics["pretrained"]["file"] == path and metrics["pretrained"]["stage"] == "language model"


def test_a_different_vocabulary_or_size_is_refused(lm, tmp_path):
    out, _ = lm
    path = str(out / "toylm" / "lm.pt")
    with pytest.raises(ModelError, match="vocabulary differs"):
        train(TrainConfig(name="ft", data="toy:train", embed_dim=8, hidden_size=16, min_count=1, max_vocab=8,
                          epochs=0, out_dir=str(tmp_path), init_from_lm=path), log=lambda m: None)
    with pytest.raises(ModelError, match="must match"):
        train(TrainConfig(name="ft", data="toy:train", embed_dim=8, hidden_size=32, min_count=1, max_vocab=100,
                          epochs=0, out_dir=str(tmp_path), init_from_lm=path), log=lambda m: None)


def test_a_stopped_run_resumes_where_it_stopped(tmp_path):
    cfg = dict(name="r", epochs=1, out_dir=str(tmp_path), checkpoint_every=10_000, **SMALL)
    first = pretrain(PretrainConfig(max_minutes=0.0, **cfg), log=lambda m: None)
    assert not first["finished"] and not (tmp_path / "r" / "lm.pt").exists()
    ck = torch.load(tmp_path / "r" / "lm-checkpoint.pt", weights_only=True)
    assert ck["state"]["step"] == 1 and ck["state"]["epoch"] == 1
    said = []
    done = pretrain(PretrainConfig(resume=True, **cfg), log=said.append)
    assert done["finished"] and (tmp_path / "r" / "lm.pt").exists() and len(done["history"]) == 1
    assert any("resumed" in m and "step 1" in m for m in said)


def test_test_splits_are_never_pretrained_on():
    for data in ("imdb:test", "imdb:unsup,sst2:test", "toy:test"):
        with pytest.raises(ValueError, match="never pretrain on a test split"):
            PretrainConfig(name="x", data=data)
