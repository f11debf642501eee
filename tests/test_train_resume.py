"""Checkpoints and resume: an interrupted run continues to the same result as an uninterrupted one."""
import json

import pytest
import torch

from core.experiments.train import TrainConfig, train


def test_resume_continues_from_checkpoint(tmp_path, toy_csv):
    common = dict(data=toy_csv, embed_dim=8, hidden_size=8, lr=5e-3, min_count=1, max_vocab=100,
                  patience=10, dev_fraction=0.5)
    full = tmp_path / "full"
    train(TrainConfig(name="m", out_dir=str(full), epochs=2, **common), log=lambda m: None)
    part = tmp_path / "part"
    train(TrainConfig(name="m", out_dir=str(part), epochs=1, **common), log=lambda m: None)
    assert (part / ".runs" / "m" / "checkpoint.pt").exists()
    logs = []
    train(TrainConfig(name="m", out_dir=str(part), epochs=2, resume=True, **common), log=logs.append)
    assert any("resumed" in m for m in logs)
    a = torch.load(full / "m" / "weights.pt", weights_only=True)
    b = torch.load(part / "m" / "weights.pt", weights_only=True)
    assert all(torch.allclose(a[k].float(), b[k].float(), atol=1e-3) for k in a)
    ma, mb = (json.loads((d / "m" / "metrics.json").read_text()) for d in (full, part))
    assert ma["dev_accuracy"] == mb["dev_accuracy"] and mb["epochs_run"] == 2


def test_fused_and_step_paths_train_the_same_model(tmp_path, toy_csv, monkeypatch):
    """--path fused and --path step run the same equations: one epoch from one seed ends at the same
    weights up to float rounding (the training path is a speed choice, not a different model). The step
    path really trains through the step function F, and the fused path never calls it."""
    from core.models.rnn import SentimentRNN
    calls = []
    step_forward = SentimentRNN.forward_step
    monkeypatch.setattr(SentimentRNN, "forward_step", lambda self, *a: calls.append(1) or step_forward(self, *a))
    common = dict(data=toy_csv, embed_dim=8, hidden_size=8, lr=5e-3, min_count=1, max_vocab=100, epochs=1,
                  dev_fraction=0.5, out_dir=str(tmp_path))
    for arch in ("gru", "lstm", "ugrnn", "vanilla"):
        ws = []
        for path in ("fused", "step"):
            calls.clear()
            m = train(TrainConfig(name=f"{arch}-{path}", arch=arch, path=path, **common), log=lambda m: None)
            assert m["path"] == path and m["device"] == "cpu"
            assert (len(calls) > 0) == (path == "step"), (arch, path, len(calls))
            ws.append(torch.load(tmp_path / f"{arch}-{path}" / "weights.pt", weights_only=True))
        worst = max((ws[0][k].float() - ws[1][k].float()).abs().max().item() for k in ws[0])
        assert worst < 5e-3, (arch, worst)   # float16 storage rounds at ~1e-3 of the weights' size


def test_auto_path_device_and_the_metrics_that_record_them(tmp_path, toy_csv):
    from core.experiments.train import FASTER_PATH, resolve_device, resolve_path
    cpu = torch.device("cpu")
    assert resolve_path("auto", cpu, "ugrnn") == "step" and resolve_path("auto", cpu, "gru") == "fused"
    assert resolve_path("auto", torch.device("cuda"), "ugrnn") == "fused"
    assert resolve_path("step", cpu, "gru") == "step" and resolve_path("fused", cpu, "ugrnn") == "fused"
    assert FASTER_PATH == {("cpu", "ugrnn"): "step"}   # the only cell and device where the step function wins
    for bad in ("gpu", "fast"):
        with pytest.raises(ValueError):
            resolve_path(bad, cpu, "gru")
        with pytest.raises(ValueError):
            resolve_device(bad)
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA device"):
            resolve_device("cuda")
        assert resolve_device("auto").type == "cpu"
    train(TrainConfig(name="u", arch="ugrnn", data=toy_csv, embed_dim=8, hidden_size=8, epochs=1,
                          min_count=1, out_dir=str(tmp_path)), log=lambda m: None)
    saved = json.loads((tmp_path / "u" / "metrics.json").read_text())
    assert saved["path"] == "step" and saved["device"] == "cpu"            # what ran
    assert saved["settings"]["path"] == "auto" and saved["settings"]["device"] == "cpu"   # what was asked
    with pytest.raises(ValueError, match="for RNNs"):    # a bag-of-words model is fitted on the CPU by sklearn
        train(TrainConfig(name="b", arch="bow", data=toy_csv, device="cuda", out_dir=str(tmp_path)), log=print)


def test_cli_refuses_cuda_where_there_is_none(tmp_path, toy_csv):
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    from core.tools.cli import main
    rc = main(["train", "--name", "x", "--data", toy_csv, "--device", "cuda", "--out-dir", str(tmp_path)])
    assert rc == 2 and not (tmp_path / "x").exists()
