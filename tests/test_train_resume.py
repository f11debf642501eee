"""Checkpoints and resume: an interrupted run continues to the same result as an uninterrupted one."""
import json

import torch

from core.train import TrainConfig, train


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
