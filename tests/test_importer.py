"""`python -m core import`: a user's Embedding -> GRU/LSTM/RNN -> Linear state dict and vocabulary become a
model folder that predicts what the original module predicts; everything else is refused, and nothing is
written then."""
from __future__ import annotations

import argparse
import copy
import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
from torch import nn

from core.tools.cli import main
from core.tools import importer
from core.tools.importer import (
    CHECK_MAX_LEN,
    N_CHECK,
    ImportRefused,
    add_parser,
    check_sequences,
    convert,
    find_modules,
    import_model,
    map_vocab,
    read_vocab,
    run,
)
from core.models.store import list_models, load_model
from core.data.text import tokenize

ROOT = Path(__file__).resolve().parent.parent
WORDS = ["the", "movie", "was", "not", "very", "good", "bad", "boring", "fun", "plot", "."]
TEXTS = ["the movie was not very good .", "bad", "not bad , fun", "the plot was boring boring boring",
         "very very good", "good movie . not the plot", "zebra movie", "not zebra good"]  # zebra: unknown
TORCH_RNN = {"gru": nn.GRU, "lstm": nn.LSTM, "rnn": nn.RNN}


class Net(nn.Module):
    """A user's classifier: Embedding -> GRU/LSTM/RNN -> Linear on the state after each text's last token."""

    def __init__(self, arch: str, rows: int, logits: int = 1, bias: bool = True, batch_first: bool = True,
                 names: tuple[str, str, str] = ("embedding", "rnn", "fc"), **rnn_kw):
        super().__init__()
        self.names, self.arch, self.batch_first = names, arch, batch_first
        setattr(self, names[0], nn.Embedding(rows, 8))
        setattr(self, names[1], TORCH_RNN[arch](8, 12, bias=bias, batch_first=batch_first, **rnn_kw))
        setattr(self, names[2], nn.Linear(12, logits, bias=bias))

    @torch.no_grad()
    def forward(self, seqs: list[list[int]], pad: int) -> torch.Tensor:
        """Outputs (B, logits) for id lists, padded with `pad` and packed."""
        emb, rnn, fc = (getattr(self, n) for n in self.names)
        lengths = torch.tensor([len(s) for s in seqs])
        ids = torch.full((len(seqs), int(lengths.max())), pad)
        for i, s in enumerate(seqs):
            ids[i, : len(s)] = torch.tensor(s)
        x = emb(ids) if self.batch_first else emb(ids).transpose(0, 1)
        _, h = rnn(nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=self.batch_first, enforce_sorted=False))
        return fc((h[0] if self.arch == "lstm" else h)[-1])


def cli(capsys, *argv: str) -> dict:
    """Run the import subcommand in-process with --json; its summary."""
    ap = argparse.ArgumentParser()
    add_parser(ap.add_subparsers(dest="command"))
    assert run(ap.parse_args(["import", *argv, "--json"])) == 0
    return json.loads(capsys.readouterr().out)


def original_ids(texts: list[str], itos: list[str | None], unk: int) -> list[list[int]]:
    stoi = {t: i for i, t in enumerate(itos) if t is not None}
    return [[stoi.get(t, unk) for t in tokenize(text)] for text in texts]


def rounded(net: nn.Module) -> nn.Module:
    """A copy of the network with its weights rounded to float16, as a model folder stores them."""
    net = copy.deepcopy(net)
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(p.half().float())
    return net


def readme_example() -> tuple[str, list[str]]:
    """The Python code and the import commands of README's "Bring your own model" worked example."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index("\n## Bring your own model\n")
    section = text[start: text.find("\n## ", start + 1)]
    blocks = re.findall(r"```(\w+)\n(.*?)```", section, re.DOTALL)
    code = next(b for lang, b in blocks if lang == "python")
    commands = [line for lang, b in blocks if lang == "bash" for line in b.splitlines()
                if line.startswith("python -m core ")]
    return code, commands


def _padded(seqs: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-padded with 0: (ids, lengths), as the README's Net takes them."""
    lengths = torch.tensor([len(s) for s in seqs])
    ids = torch.zeros(len(seqs), int(lengths.max()), dtype=torch.long)
    for i, s in enumerate(seqs):
        ids[i, : len(s)] = torch.tensor(s)
    return ids, lengths


def test_readme_example_imports_and_predicts_like_the_original(tmp_path, monkeypatch, capsys):
    code, commands = readme_example()
    monkeypatch.chdir(tmp_path)
    ns: dict = {}
    exec(compile(code, "README.md", "exec"), ns)
    imports = [c for c in commands if c.startswith("python -m core import ")]
    assert len(imports) == 1
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, *shlex.split(imports[0])[1:], "--out-dir", "models"], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert "same class on 300/300" in done.stdout and "WARNING: the project reads text" in done.stdout
    name = shlex.split(imports[0])[shlex.split(imports[0]).index("--name") + 1]
    folder = tmp_path / "models" / name
    clf = load_model(folder)
    net, vocab = ns["net"].eval(), ns["vocab"]
    texts = [shlex.split(c)[5] for c in commands if shlex.split(c)[3] in ("predict", "phrase")] + TEXTS
    ids = original_ids(texts, vocab, vocab.index("<unk>"))
    with torch.no_grad():
        want = net(*_padded(ids))
    assert (clf.logits(texts) - want).abs().max() < 5e-3  # float16 storage
    with torch.no_grad():
        assert (clf.logits(texts) - rounded(net)(*_padded(ids))).abs().max() < 1e-5
    assert main(["predict", str(folder), texts[0], "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["p_pos"] == pytest.approx(float(torch.sigmoid(want[0])), abs=2e-3)
    met = json.loads((folder / "metrics.json").read_text())
    assert met["imported"] and met["command"].startswith("python -m core import --state-dict net.pt")
    assert met["files"]["state_dict"]["sha256"] == hashlib.sha256((tmp_path / "net.pt").read_bytes()).hexdigest()
    assert met["check"]["max_abs_diff_float32"] <= 1e-4 and met["check"]["max_abs_diff_float16"] < 5e-3


def _write_vocab(path: Path, itos: list[str | None], as_object: bool = False) -> Path:
    """A vocabulary file: .json with a list or an object token -> index (None: no token), else one per line."""
    if path.suffix != ".json":
        path.write_text("\n".join(itos) + "\n", encoding="utf-8")
    elif as_object:
        path.write_text(json.dumps({t: i for i, t in enumerate(itos) if t is not None}), encoding="utf-8")
    else:
        path.write_text(json.dumps(itos), encoding="utf-8")
    return path


CASES = {
    # torchtext's convention (<unk> 0, <pad> 1) in a JSON object, two logits, a sequence-first LSTM with other
    # module names, and a checkpoint dict wrapping the state dict
    "lstm-torchtext-2logits": {
        "arch": "lstm", "itos": ["<unk>", "<pad>", *WORDS], "pad": 1, "unk": 0, "vocab": "v.json", "object": True,
        "net": {"logits": 2, "names": ("embed", "lstm", "classifier"), "batch_first": False}, "flags": [],
        "wrap": True},
    # a tanh RNN without biases; padding and unknown in the middle of a text vocabulary, stated by index; one logit
    # meaning P(negative); a token the project's tokenizer never produces
    "rnn-middle-specials-negated": {
        "arch": "rnn", "itos": [*WORDS[:3], "[PAD]", *WORDS[3:7], "[UNK]", *WORDS[7:], "Don't"], "pad": 3, "unk": 8,
        "vocab": "vocab.txt", "net": {"bias": False, "names": ("emb", "recurrent", "out")}, "unreachable": 1,
        "flags": ["--pad-index", "3", "--unk-index", "8", "--positive-class", "0", "--arch", "rnn",
                  "--tokenizer", "str.split"]},
    # Keras' word_index (starts at 1: row 0 is padding without a token), no unknown token, nested prefixes
    "gru-keras-no-unk": {
        "arch": "gru", "itos": [None, *WORDS], "pad": 0, "unk": None, "vocab": "word_index.json", "object": True,
        "net": {}, "flags": ["--unk-index", "none", "--max-len", "5", "--truncate", "tail"], "nested": True},
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_import_matches_the_original_module(case, tmp_path, capsys):
    c = CASES[case]
    torch.manual_seed(1)
    net = Net(c["arch"], len(c["itos"]), **c["net"]).eval()
    sd = net.state_dict()
    if c.get("nested"):
        sd = {f"model.{k}": v for k, v in sd.items()}
    torch.save({"epoch": 3, "state_dict": sd} if c.get("wrap") else sd, tmp_path / "ckpt.pth")
    vocab = _write_vocab(tmp_path / c["vocab"], c["itos"], as_object=c.get("object", False))
    res = cli(capsys, "--state-dict", str(tmp_path / "ckpt.pth"), "--vocab", str(vocab), "--name", "mine",
              "--out-dir", str(tmp_path / "models"), *c["flags"])
    folder = tmp_path / "models" / "mine"
    assert res["path"] == str(folder) and sorted(p.name for p in (tmp_path / "models").iterdir()) == ["mine"]
    assert res["original"]["pad_index"] == c["pad"] and res["original"]["unk_index"] == c["unk"]
    assert res["check"]["max_abs_diff_float32"] <= 1e-4 and res["check"]["max_abs_diff_float32_step"] <= 1e-4
    clf = load_model(folder)
    assert clf.vocab.itos == ["<pad>", "<unk>"] + [t for i, t in enumerate(c["itos"]) if i not in (c["pad"], c["unk"])]
    assert res["unreachable_tokens"] == c.get("unreachable", 0)
    assert clf.config["arch"] == {"rnn": "vanilla"}.get(c["arch"], c["arch"])
    texts = TEXTS if c["unk"] is not None else [t for t in TEXTS if set(tokenize(t)) <= set(WORDS)]
    if c["flags"][-2:] == ["--truncate", "tail"]:
        assert clf.config["max_len"] == 5 and clf.config["truncate"] == "tail"
        ids = [s[-5:] for s in original_ids(texts, c["itos"], -1)]
    else:
        ids = original_ids(texts, c["itos"], c["unk"])
    positive = 0 if "--positive-class" in c["flags"] else 1
    if "--tokenizer" in c["flags"]:
        assert res["original"]["tokenizer"] == "str.split" and "(your tokenizer: str.split)" in res["warnings"][0]
    # against the float16-rounded original the only difference left is rounding z_pos - z_neg's weights once more
    for model, tol in ((net, 5e-3), (rounded(net), 1e-5 if c["net"].get("logits", 1) == 1 else 5e-4)):
        z = model(ids, c["pad"] or 0)
        want = z[:, positive] - z[:, 1 - positive] if z.shape[1] == 2 else (z[:, 0] if positive else -z[:, 0])
        assert (clf.logits(texts) - want).abs().max() < tol
    if c["unk"] is None:
        assert any("no unknown token" in w for w in res["warnings"])
        assert torch.equal(clf.model.embedding.weight[1], torch.zeros(8))


def _state_dict(tmp_path: Path, net: nn.Module | None = None, **edits) -> Path:
    """A GRU Net's state dict, saved, with entries replaced (a tensor) or removed (None)."""
    torch.manual_seed(0)
    sd = (net or Net("gru", 2 + len(WORDS))).state_dict()
    for k, v in edits.items():
        if v is None:
            del sd[k]
        else:
            sd[k] = v
    torch.save(sd, tmp_path / "sd.pt")
    return tmp_path / "sd.pt"


class Payload:
    """A pickle that creates a file when it is loaded without weights_only."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return open, (str(self.marker), "w")


def _refusal_files(tmp_path: Path, case: str) -> tuple[Path, Path, list[str]]:
    vocab = _write_vocab(tmp_path / "vocab.json", ["<pad>", "<unk>", *WORDS])
    rows = 2 + len(WORDS)
    if case == "bidirectional":
        return _state_dict(tmp_path, Net("gru", rows, bidirectional=True)), vocab, []
    if case == "two-layers":
        return _state_dict(tmp_path, Net("lstm", rows, num_layers=2)), vocab, []
    if case == "proj-size":
        return _state_dict(tmp_path, Net("lstm", rows, proj_size=4)), vocab, []
    if case == "relu":
        return _state_dict(tmp_path, Net("rnn", rows)), vocab, ["--nonlinearity", "relu"]
    if case == "wrong-arch":
        return _state_dict(tmp_path), vocab, ["--arch", "lstm"]
    if case == "readout-shape":
        return _state_dict(tmp_path, **{"fc.weight": torch.zeros(1, 13)}), vocab, []
    if case == "three-logits":
        return _state_dict(tmp_path, **{"fc.weight": torch.zeros(3, 12), "fc.bias": torch.zeros(3)}), vocab, []
    if case == "embedding-dim":
        return _state_dict(tmp_path, **{"embedding.weight": torch.zeros(rows, 9)}), vocab, []
    if case == "bias-shape":
        return _state_dict(tmp_path, **{"rnn.bias_hh_l0": torch.zeros(12)}), vocab, []
    if case == "extra-layer":
        return _state_dict(tmp_path, **{"attention.weight": torch.zeros(1, 12)}), vocab, []
    if case == "gru-cell":
        cell = nn.GRUCell(8, 12).state_dict()
        return _state_dict(tmp_path, **{f"rnn.{k}_l0": None for k in cell},
                           **{f"rnn.{k}": v for k, v in cell.items()}), vocab, []
    if case == "nan":
        return _state_dict(tmp_path, **{"fc.bias": torch.tensor([float("nan")])}), vocab, []
    if case == "vocab-too-long":
        return _state_dict(tmp_path), _write_vocab(vocab, ["<pad>", "<unk>", *WORDS, "extra"]), []
    if case == "vocab-too-short":
        return _state_dict(tmp_path), _write_vocab(vocab, ["<pad>", "<unk>", *WORDS[:-1]]), []
    if case == "duplicate-token":
        return _state_dict(tmp_path), _write_vocab(vocab, ["<pad>", "<unk>", *WORDS[:-1], "good"]), []
    if case == "no-padding-token":
        return _state_dict(tmp_path), _write_vocab(vocab, ["PADDING", "<unk>", *WORDS]), []
    if case == "conflicting-unk":
        return _state_dict(tmp_path), vocab, ["--unk-index", "2"]
    if case == "path-as-name":
        return _state_dict(tmp_path), vocab, ["--name", "../outside"]
    if case == "garbage":
        (tmp_path / "sd.pt").write_bytes(os.urandom(4096))
        return tmp_path / "sd.pt", vocab, []
    if case == "whole-module":
        torch.save(Net("gru", rows), tmp_path / "sd.pt")
        return tmp_path / "sd.pt", vocab, []
    assert case == "pickled-code"
    torch.save({"embedding.weight": torch.zeros(rows, 8), "payload": Payload(tmp_path / "pwned")}, tmp_path / "sd.pt")
    return tmp_path / "sd.pt", vocab, []


REFUSALS = {
    "bidirectional": r"'rnn' has bidirectional=True \(rnn\.weight_ih_l0_reverse\)",
    "two-layers": r"'rnn' has num_layers=2 \(rnn\.weight_ih_l1\)",
    "proj-size": r"'rnn' has proj_size > 0 \(rnn\.weight_hr_l0\)",
    "relu": r"only tanh",
    "wrong-arch": r"--arch lstm, but rnn\.weight_hh_l0 \(36, 12\) has 3 x H rows: that is an nn\.GRU",
    "readout-shape": r"no readout found: expected PREFIX\.weight of shape \(1, 12\) or \(2, 12\).*fc\.weight \(1, 13\)",
    "three-logits": r"no readout found.*fc\.weight \(3, 12\)",
    "embedding-dim": r"no embedding found: expected PREFIX\.weight of shape \(vocabulary size, 8\).*"
                     r"embedding\.weight \(13, 9\)",
    "bias-shape": r"rnn\.bias_hh_l0 has shape \(12,\), expected \(36,\)",
    "extra-layer": r"outside Embedding 'embedding' -> GRU 'rnn' -> Linear 'fc': attention\.weight \(1, 12\)",
    "gru-cell": r"nn\.GRUCell",
    "nan": r"fc\.bias contains NaN",
    "vocab-too-long": r"14 entries but the embedding has 13 rows",
    "vocab-too-short": r"rows \[12\] have no token",
    "duplicate-token": r"token 'good' appears twice \(indices 7 and 12\)",
    "no-padding-token": r"cannot tell which index is padding.*--pad-index N",
    "conflicting-unk": r"'<unk>' at index 1, but --pad-index/--unk-index say padding is 0 and unknown is 2",
    "path-as-name": r"--name '\.\./outside': use letters, digits",
    "garbage": r"sd\.pt: cannot be read as a PyTorch state dict: it is not a file written by torch\.save "
               r"\(unrecognised contents, or damaged\)\. Save the weights with torch\.save\(model\.state_dict\(\)",
    "whole-module": r"sd\.pt: cannot be read as a PyTorch state dict: it holds a pickled Python object "
                    r"\(test_importer\.Net\), not only tensors",
    "pickled-code": r"sd\.pt: cannot be read as a PyTorch state dict: it holds a pickled Python object \(io\.open\)"
                    r".*nothing in the file was run",
}


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_refusals_name_the_problem_and_write_nothing(case, tmp_path, capsys):
    sd, vocab, flags = _refusal_files(tmp_path, case)
    with pytest.raises(ImportRefused, match=REFUSALS[case]):
        cli(capsys, "--state-dict", str(sd), "--vocab", str(vocab), "--name", "x", "--out-dir",
            str(tmp_path / "models"), *flags)
    assert not (tmp_path / "models").exists() or not any((tmp_path / "models").iterdir())
    assert not (tmp_path / "pwned").exists()


def test_existing_folder_needs_force_and_imported_models_are_listed_like_shipped_ones(tmp_path, capsys):
    vocab = _write_vocab(tmp_path / "vocab.json", ["<pad>", "<unk>", *WORDS])
    args = ["--state-dict", str(_state_dict(tmp_path)), "--vocab", str(vocab), "--name", "byo-test",
            "--out-dir", str(tmp_path / "models")]
    cli(capsys, *args)
    with pytest.raises(ImportRefused, match="already exists.*--force"):
        cli(capsys, *args)
    (tmp_path / "models" / "byo-test" / "stale.txt").write_text("old")
    assert cli(capsys, *args, "--force")["command"].endswith("--force")
    assert sorted(p.name for p in (tmp_path / "models").iterdir()) == ["byo-test"]
    assert not (tmp_path / "models" / "byo-test" / "stale.txt").exists()
    shipped = ROOT / "models" / "toy-gru"
    (tmp_path / "models" / "toy-gru").mkdir()
    for f in ("config.json", "vocab.json", "weights.pt", "metrics.json"):
        shutil.copy(shipped / f, tmp_path / "models" / "toy-gru" / f)
    listed = {m["name"]: m for m in list_models(tmp_path / "models")}
    assert sorted(listed) == ["byo-test", "toy-gru"]
    mine, toy = listed["byo-test"], listed["toy-gru"]
    assert (mine["kind"], mine["arch"], mine["truncate"]) == (toy["kind"], toy["arch"], toy["truncate"])
    assert (mine["kind"], mine["arch"], mine["truncate"]) == ("rnn", "gru", "head")
    for m in (mine, toy):
        assert 0 < float(load_model(m["path"]).predict_proba(["not good"])[0]) < 1


@pytest.mark.parametrize(("itos", "pad", "unk", "want_perm"), [
    (["the", "<pad>", "good", "<unk>"], "auto", "auto", [1, 3, 0, 2]),  # permuted to <pad> 0, <unk> 1
    (["<pad>", "the", "good"], "0", "0", [0, 0, 1, 2]),  # one shared row serves padding and unknown
    (["the", "good", "<unk>"], "none", "auto", [None, 2, 0, 1]),  # never padded: a zero row is added
])
def test_vocabulary_rows_are_permuted_to_pad_0_unk_1(itos, pad, unk, want_perm):
    vocab, perm, _ = map_vocab(itos, len(itos), pad, unk)
    assert perm == want_perm
    assert vocab.itos[:2] == ["<pad>", "<unk>"]
    assert [itos[o] for o in perm[2:]] == vocab.itos[2:] == [t for t in itos if t not in ("<pad>", "<unk>")]


# Issue #20: the import in bounded memory (a cap on the vocabulary, a conversion without an object per row).

def _long_vocab(path: Path, n: int) -> Path:
    """A text vocabulary of n entries: <pad>, <unk>, then w0, w1, ..."""
    with open(path, "w", encoding="utf-8") as f:
        f.write("<pad>\n<unk>\n")
        f.writelines(f"w{i}\n" for i in range(n - 2))
    return path


def test_a_vocabulary_above_the_cap_is_refused_before_the_weights_are_read(tmp_path, monkeypatch):
    monkeypatch.setattr(importer, "MAX_VOCAB", 1000)
    vocab = _long_vocab(tmp_path / "vocab.txt", 1500)
    (tmp_path / "sd.pt").write_bytes(b"")  # never read: an empty state dict would be refused otherwise
    with pytest.raises(ImportRefused, match=re.escape(f"{vocab}: 1,500 lines; an import takes at most 1,000 "
                                                      "(MAX_VOCAB in core/tools/importer.py")):
        import_model(tmp_path / "sd.pt", vocab, "x", out_dir=tmp_path / "models")
    assert len(read_vocab(_long_vocab(tmp_path / "at-the-cap.txt", 1000))) == 1000
    (tmp_path / "long-line.txt").write_text("<pad>\n<unk>\n" + "x" * 1001 + "\n", encoding="utf-8")
    with pytest.raises(ImportRefused, match=r"long-line\.txt: line 3 is longer than 1,000 characters"):
        read_vocab(tmp_path / "long-line.txt")
    assert not (tmp_path / "models").exists()


def test_a_json_vocabulary_above_the_cap_is_refused_before_it_is_built(tmp_path, monkeypatch):
    words = [f"w{i}" for i in range(1001)]
    (tmp_path / "list.json").write_text(json.dumps(words), encoding="utf-8")
    # an index of 10**12 was a list of 10**12 entries before it was checked
    (tmp_path / "object.json").write_text(json.dumps({"good": 0, "bad": 10 ** 12}), encoding="utf-8")
    with pytest.raises(ImportRefused, match=re.escape(f"{tmp_path / 'object.json'}: 2 tokens with indices up to "
                                                      "1,000,000,000,000; an import takes at most 1,000,000")):
        read_vocab(tmp_path / "object.json")
    monkeypatch.setattr(importer, "MAX_VOCAB", 1000)
    with pytest.raises(ImportRefused, match=re.escape(f"{tmp_path / 'list.json'}: 1,001 tokens; an import takes at "
                                                      "most 1,000")):
        read_vocab(tmp_path / "list.json")
    monkeypatch.setattr(importer, "MAX_VOCAB", 10)  # at most 10 x JSON_BYTES_PER_TOKEN = 1,000 bytes are parsed
    size = (tmp_path / "list.json").stat().st_size
    with pytest.raises(ImportRefused, match=re.escape(f"{tmp_path / 'list.json'}: {size:,} bytes of JSON (at most "
                                                      "1,000 are read); an import takes at most 10")):
        read_vocab(tmp_path / "list.json")


def test_an_embedding_above_the_cap_is_refused_before_it_is_converted(tmp_path, monkeypatch):
    monkeypatch.setattr(importer, "MAX_VOCAB", 1000)
    sd = _state_dict(tmp_path, Net("gru", 1500))
    vocab = _write_vocab(tmp_path / "vocab.json", ["<pad>", "<unk>", *WORDS])
    with pytest.raises(ImportRefused, match=re.escape(f"{sd}: the embedding embedding.weight has 1,500 rows; an "
                                                      "import takes at most 1,000")):
        import_model(sd, vocab, "x", out_dir=tmp_path / "models")


def _row_by_row(perm: list[int | None], emb: torch.Tensor) -> torch.Tensor:
    """The project embedding by its definition, one row at a time (the importer's code before issue #20)."""
    return torch.stack([emb[i] if i is not None else torch.zeros(emb.shape[1]) for i in perm])


def _check_sequences_by_dict(perm: list[int | None], pad: int | None):
    """check_sequences as it was before issue #20: a dict from original to project row, read id by id."""
    new_of_old = {o: n for n, o in enumerate(perm) if o is not None and n >= 1}
    content = torch.tensor(sorted(new_of_old))
    g = torch.Generator().manual_seed(0)
    lengths = torch.randint(1, CHECK_MAX_LEN + 1, (N_CHECK,), generator=g)
    lengths[:2] = torch.tensor([1, CHECK_MAX_LEN])
    old = content[torch.randint(len(content), (N_CHECK, CHECK_MAX_LEN), generator=g)]
    mask = torch.arange(CHECK_MAX_LEN) < lengths.unsqueeze(1)
    new = torch.tensor([[new_of_old[int(o)] for o in row] for row in old]) * mask
    return torch.where(mask, old, torch.full_like(old, 0 if pad is None else pad)), new, lengths


@pytest.mark.parametrize(("itos", "pad", "unk"), [
    ([*WORDS[:3], "[PAD]", *WORDS[3:7], "[UNK]", *WORDS[7:]], "3", "8"),  # both in the middle
    (["<pad>", *WORDS], "0", "0"),  # one shared row
    ([*WORDS, "<unk>"], "none", "auto"),  # no padding: a zero row is added
])
def test_the_vectorised_conversion_writes_what_the_row_by_row_one_wrote(itos, pad, unk, tmp_path, capsys):
    torch.manual_seed(0)
    sd = Net("gru", len(itos)).state_dict()
    _, perm, info = map_vocab(itos, len(itos), pad, unk)
    want = _row_by_row(perm, sd["embedding.weight"])
    assert torch.equal(convert(sd, find_modules(sd), perm, 1)["embedding.weight"], want)
    got, before = check_sequences(perm, info["pad_index"]), _check_sequences_by_dict(perm, info["pad_index"])
    assert all(a.dtype == b.dtype and torch.equal(a, b) for a, b in zip(got, before))
    torch.save(sd, tmp_path / "sd.pt")
    cli(capsys, "--state-dict", str(tmp_path / "sd.pt"), "--vocab", str(_write_vocab(tmp_path / "v.txt", itos)),
        "--name", "m", "--out-dir", str(tmp_path / "models"), "--pad-index", pad, "--unk-index", unk)
    stored = torch.load(tmp_path / "models" / "m" / "weights.pt", weights_only=True)
    assert torch.equal(stored["embedding.weight"], want.half())


# Measured with torch 2.13 on Linux: the import added 183 MB (0.6 KB a word: its strings, lists and dicts, and a few
# copies of the 64-byte rows) and the conversion 21 MB; the row-by-row importer added 286 MB and 184 MB.
IMPORT_GROWTH_MB = 256
CONVERT_GROWTH_MB = 48  # the permuted embedding it returns is 19.2 MB


@pytest.mark.skipif(sys.platform != "linux", reason="ru_maxrss is in kilobytes on Linux")
def test_a_300000_word_import_stays_in_bounded_memory(tmp_path):
    """An import of 300,000 words with 16-dimensional embeddings adds less than IMPORT_GROWTH_MB to the process's
    peak memory, and the conversion less than CONVERT_GROWTH_MB: about the permuted embedding it returns (the
    row-by-row conversion held a Python tensor per row, ~0.5 KB each)."""
    rows, dim = 300_000, 16
    torch.manual_seed(0)
    sd = {"embedding.weight": torch.randn(rows, dim) * 0.1}
    sd.update({f"rnn.{k}": v for k, v in nn.GRU(dim, 16, batch_first=True).state_dict().items()})
    sd.update({f"fc.{k}": v for k, v in nn.Linear(16, 1).state_dict().items()})
    torch.save(sd, tmp_path / "sd.pt")
    _long_vocab(tmp_path / "vocab.txt", rows)
    code = textwrap.dedent("""
        import json, resource, sys
        from pathlib import Path
        from core.tools import importer

        def peak_mb():
            return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

        convert, grown = importer.convert, {}

        def measured(*args):
            before = peak_mb()
            out = convert(*args)
            grown["convert"] = peak_mb() - before
            return out

        importer.convert = measured
        before = peak_mb()
        importer.import_model(Path(sys.argv[1]), Path(sys.argv[2]), "big", out_dir=Path(sys.argv[3]))
        print(json.dumps(dict(grown, total=peak_mb() - before)))
    """)
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path / "sd.pt"), str(tmp_path / "vocab.txt"),
                           str(tmp_path / "models")], cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)),
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    grown = json.loads(done.stdout)
    assert grown["convert"] < CONVERT_GROWTH_MB, f"the conversion added {grown['convert']:.0f} MB"
    assert grown["total"] < IMPORT_GROWTH_MB, f"the import added {grown['total']:.0f} MB"
    assert load_model(tmp_path / "models" / "big").vocab.itos[2:4] == ["w0", "w1"]
