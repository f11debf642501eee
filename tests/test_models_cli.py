"""Model folders, the evaluate/predict CLI, the BoW baselines and corrupt-model errors."""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from core.data import toy
from core.models.bow import fit_bow
from core.tools.cli import main
from core.models.store import ModelError, load_model, load_model_dir, save_model_dir
from core.data.text import Vocab, tokenize
from core.experiments.train import TrainConfig, train

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def models(tmp_path_factory, toy_csv):
    """A small toy GRU and a BoW sharing its vocabulary, trained into a temp folder."""
    out = tmp_path_factory.mktemp("models")
    common = dict(data=toy_csv, out_dir=str(out), min_count=1, max_vocab=100)
    train(TrainConfig(name="gru", arch="gru", embed_dim=8, hidden_size=16, epochs=4, lr=1e-2, **common),
          log=lambda m: None)
    train(TrainConfig(name="bow", arch="bow", vocab_from=str(out / "gru"), **common), log=lambda m: None)
    train(TrainConfig(name="bigram", arch="bigram", vocab_from=str(out / "gru"), **common), log=lambda m: None)
    return out


def test_model_folder_contents_and_metrics(models):
    for name in ("gru", "bow", "bigram"):
        d = models / name
        assert {p.name for p in d.iterdir()} >= {"config.json", "vocab.json", "weights.pt", "metrics.json"}
        m = json.loads((d / "metrics.json").read_text())
        assert m["dataset"].endswith("toy_train.csv") and m["seed"] == 0 and "command" in m
        assert m["split_sizes"]["train"] == 3600 and m["split_sizes"]["dev"] == 400
        # weights load with weights_only=True (no code can run)
        torch.load(d / "weights.pt", weights_only=True)
    assert Vocab.load(models / "bow" / "vocab.json").itos == Vocab.load(models / "gru" / "vocab.json").itos


def test_evaluate_json_for_every_kind(models, capsys):
    for name in ("gru", "bow", "bigram"):
        assert main(["evaluate", str(models / name), "--data", "toy:test", "--json"]) == 0
        res = json.loads(capsys.readouterr().out)
        assert res["n"] == 2000 and 0.5 < res["accuracy"] <= 1.0


def test_evaluate_accuracy_is_correct(models, tmp_path, capsys):
    """Accuracy on a file equals the share of predictions matching the labels, computed by hand."""
    model = load_model(models / "bow")
    texts = ["good good", "bad", "awful awful", "awesome"]
    p = model.predict_proba(texts).numpy()
    labels = [1, 1, 1, 0]
    f = tmp_path / "d.csv"
    f.write_text("text,label\n" + "".join(f"{t},{y}\n" for t, y in zip(texts, labels)))
    assert main(["evaluate", str(models / "bow"), "--data", str(f), "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["accuracy"] == pytest.approx(float(((p > 0.5).astype(int) == labels).mean()))


def test_predict_text_and_file(models, tmp_path, capsys):
    assert main(["predict", str(models / "gru"), "good awesome good", "--json"]) == 0
    pos = json.loads(capsys.readouterr().out)["p_pos"]
    assert main(["predict", str(models / "gru"), "bad awful bad", "--json"]) == 0
    neg = json.loads(capsys.readouterr().out)["p_pos"]
    assert pos > 0.5 > neg
    inp = tmp_path / "in.jsonl"
    inp.write_text('{"id": "a", "text": "good"}\n{"id": "b", "text": "awful awful"}\n')
    out = tmp_path / "out.jsonl"
    assert main(["predict", str(models / "gru"), "--input", str(inp), "--output", str(out)]) == 0
    rows = [json.loads(l) for l in out.read_text().splitlines()]
    assert [r["id"] for r in rows] == ["a", "b"] and rows[0]["p_pos"] > rows[1]["p_pos"]
    tsv = tmp_path / "in.tsv"
    tsv.write_text("sentence\ngood\nbad\n")
    assert main(["predict", str(models / "bow"), "--input", str(tsv)]) == 0
    assert len(capsys.readouterr().out.strip().splitlines()) == 2


def test_predict_empty_text_is_a_clear_error(models, capsys):
    """A blank text is refused by the rule files and uploads follow; one with characters but no tokens too."""
    assert main(["predict", str(models / "gru"), "  "]) == 2
    assert "empty text" in capsys.readouterr().err
    assert main(["predict", str(models / "gru"), "<br />"]) == 2
    assert "no tokens" in capsys.readouterr().err


def test_bow_contributions_sum_to_logit(models):
    for name in ("bow", "bigram"):
        model = load_model(models / name)
        text = "not very good , and the awful"
        toks, contrib, bias = model.token_contributions(text)
        assert toks == tokenize(text)
        assert bias + contrib.sum() == pytest.approx(float(model.logits([text])[0]), abs=1e-4)


def test_bigram_sees_not_good():
    tr, dev = toy.generate(6000, seed=5), toy.generate(1000, seed=6)
    vocab = Vocab.build((tokenize(t) for t in tr.texts), min_count=1)
    bigram, info = fit_bow(tr.texts, tr.labels, dev.texts, dev.labels, vocab, bigram=True)
    assert info["n_bigrams"] > 0
    assert bigram.bigram_index[(vocab.stoi["not"], vocab.stoi["good"])] >= 0
    i = bigram.bigram_index[(vocab.stoi["not"], vocab.stoi["good"])]
    assert bigram.gamma[i] < 0 < bigram.beta[vocab.stoi["good"]]


@pytest.mark.parametrize("damage", ["truncate", "garbage", "missing_vocab", "bad_config", "wrong_shape", "pickle"])
def test_corrupt_model_folder_gives_clear_error(models, tmp_path, damage, capsys):
    d = tmp_path / "m"
    shutil.copytree(models / "gru", d)
    w = d / "weights.pt"
    if damage == "truncate":
        w.write_bytes(w.read_bytes()[: len(w.read_bytes()) // 2])
    elif damage == "garbage":
        w.write_bytes(b"not a weights file")
    elif damage == "missing_vocab":
        (d / "vocab.json").unlink()
    elif damage == "bad_config":
        (d / "config.json").write_text("{ broken")
    elif damage == "wrong_shape":
        cfg = json.loads((d / "config.json").read_text())
        cfg["hidden_size"] += 1
        (d / "config.json").write_text(json.dumps(cfg))
    elif damage == "pickle":  # a pickle that would run code must be refused, not executed
        torch.save({"x": torch.zeros(1), "evil": Evil()}, w)
    with pytest.raises(ModelError) as e:
        load_model(d)
    assert str(d) in str(e.value)
    assert main(["evaluate", str(d), "--data", "toy:test"]) == 2
    assert "error:" in capsys.readouterr().err


class Evil:
    def __reduce__(self):
        return (print, ("code ran",))


def test_unknown_model_and_data_names(capsys):
    assert main(["evaluate", "no-such-model", "--data", "toy:test"]) == 2
    assert "no model folder" in capsys.readouterr().err
    assert main(["evaluate", "toy-gru", "--data", "no-such-data"]) == 2
    assert "neither a known dataset" in capsys.readouterr().err


def test_save_is_float16_and_round_trips(tmp_path):
    vocab = Vocab(["<pad>", "<unk>", "a"])
    save_model_dir(tmp_path / "m", {"kind": "bow"}, vocab, {"beta": torch.tensor([0.0, 0.5, 1.25]),
                                                          "bias": torch.tensor([0.1])})
    raw = torch.load(tmp_path / "m" / "weights.pt", weights_only=True)
    assert raw["beta"].dtype == torch.float16
    cfg, v, w = load_model_dir(tmp_path / "m")
    assert cfg["format_version"] == 1 and v.itos == vocab.itos and w["beta"].tolist() == [0.0, 0.5, 1.25]
    assert not list((tmp_path / "m").glob("*.tmp"))


def test_cli_entry_point_runs_as_module():
    r = subprocess.run([sys.executable, "-m", "core", "predict", "toy-gru", "not good"], cwd=ROOT,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert 0.0 <= float(r.stdout) <= 1.0


SHIPPED = sorted(p for p in (ROOT / "models").iterdir() if (p / "config.json").exists())


@pytest.mark.parametrize("folder", SHIPPED, ids=lambda p: p.name)
def test_every_shipped_model_records_how_to_reproduce_it(folder):
    """The metrics file of each shipped model: dataset, split sizes, test accuracy, seed, training time and a
    command the CLI accepts that writes this very folder; a trained RNN also names its device and path. Each
    model folder, shipped analyses included, stays under 25 MB."""
    from core.tools.cli import build_parser
    m = json.loads((folder / "metrics.json").read_text())
    for key in ("dataset", "split_sizes", "test_accuracy", "seed", "command"):
        assert m.get(key) is not None, (folder.name, key)
    assert 0.5 < m["test_accuracy"] <= 1 and m["split_sizes"]["train"] > 0
    argv = m["command"].split()
    assert argv[:3] == ["python", "-m", "core"], m["command"]
    args = build_parser().parse_args(argv[3:])
    if args.command == "train":
        assert args.name == folder.name and m["train_seconds"] > 0
        if args.arch not in ("bow", "bigram"):
            assert m["device"] in ("cpu",) or m["device"].startswith("cuda ("), m["device"]
            assert m["path"] in ("fused", "step") and args.device in ("cuda" if m["device"] != "cpu" else "cpu", "auto")
            if "device" in m["settings"]:   # what was asked, next to what ran
                assert (m["settings"]["device"], m["settings"]["path"]) == (args.device, args.path)
    size = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())
    assert size < 25e6, (folder.name, size)


def test_cli_says_when_an_analysis_does_not_apply(tmp_path, monkeypatch, capsys):
    """sst2-lstm at its default neutral input: `position` exits with status 3 and the reason, not an error and not
    numbers (the modifiers are measured exactly there instead)."""
    monkeypatch.setenv("SENTIMENT_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("SENTIMENT_DATA_ROOT", str(tmp_path / "none"))
    for cmd in ("position",):
        assert main([cmd, "sst2-lstm"]) == 3
        err = capsys.readouterr().err
        assert err.startswith("does not apply:") and "does not reach the readout" in err


def test_doctor_accepts_analyses_that_do_not_apply(tmp_path, monkeypatch):
    """sst2-lstm ships no modifiers or position (they do not apply at its reference): doctor says so, OK."""
    from core.tools import doctor
    monkeypatch.setenv("SENTIMENT_CACHE_DIR", str(tmp_path))
    checks = list(doctor.check_analyses(ROOT / "models" / "sst2-lstm", "rnn"))
    assert [c.status for c in checks] == ["OK"] and "do not apply" in checks[0].detail
