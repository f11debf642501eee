"""The step function F and the fast batched path compute the same network (METHOD section 1)."""
import pytest
import torch

from core.models.rnn import ARCHS, SentimentRNN, length_batches, pad_batch, batched_logits


@pytest.mark.parametrize("arch", ARCHS)
def test_step_function_matches_fast_path(arch):
    torch.manual_seed(0)
    model = SentimentRNN(50, arch, embed_dim=8, hidden_size=12).eval()
    with torch.no_grad():  # a non-trivial initial state, so h0 handling is tested too
        model.h0.normal_(0, 0.5)
    seqs = [torch.randint(2, 50, (n,)).tolist() for n in (1, 7, 15, 30)]
    ids, lengths = pad_batch(seqs)
    with torch.no_grad():
        fast = model(ids, lengths)
        step = model.forward_step(ids, lengths)
        assert (fast - step).abs().max() < 1e-5
        # every intermediate state, from F one token at a time vs the fused layer
        for i, s in enumerate(seqs):
            states = model.states(torch.tensor(s))
            assert states.shape == (len(s) + 1, model.state_size)
            run = model.cell.run(model.embedding(torch.tensor(s)).unsqueeze(0), model.h0.unsqueeze(0))[0]
            H = model.cell.hidden_size
            assert (states[1:, :H] - run[:, :H]).abs().max() < 1e-5
            assert abs(float(model.logit_of_state(states[-1])) - float(fast[i])) < 1e-5


@pytest.mark.parametrize("arch", ARCHS)
def test_step_is_batched_over_leading_dims(arch):
    torch.manual_seed(1)
    model = SentimentRNN(20, arch, embed_dim=4, hidden_size=6)
    h = torch.randn(3, 5, model.state_size)
    x = torch.randn(3, 5, 4)
    out = model.step(h, x)
    assert out.shape == h.shape
    assert torch.allclose(out[2, 4], model.step(h[2, 4], x[2, 4]), atol=1e-6)


def test_readout_vector_matches_readout():
    torch.manual_seed(2)
    for arch in ARCHS:
        model = SentimentRNN(20, arch, embed_dim=4, hidden_size=6)
        h = torch.randn(10, model.state_size)
        w, b = model.readout_vector()
        assert torch.allclose(h @ w + b, model.logit_of_state(h), atol=1e-6)


def test_lstm_state_is_h_and_c_with_forget_bias_one():
    model = SentimentRNN(20, "lstm", embed_dim=4, hidden_size=6)
    assert model.state_size == 12
    H = 6
    assert torch.all(model.cell.rnn.bias_ih_l0[H:2 * H] + model.cell.rnn.bias_hh_l0[H:2 * H] == 1.0)


def test_padding_does_not_change_prediction():
    """Read at the last real token: padding a sequence with zeros must not change its logit."""
    torch.manual_seed(3)
    model = SentimentRNN(30, "gru", embed_dim=4, hidden_size=8).eval()
    short = [5, 6, 7]
    with torch.no_grad():
        alone = model(*pad_batch([short]))
        padded = model(*pad_batch([short, list(range(2, 25))]))
        empty = model(*pad_batch([[]]))
    assert abs(float(alone[0]) - float(padded[0])) < 1e-6
    assert abs(float(empty[0]) - float(model.logit_of_state(model.h0).detach())) < 1e-6


def test_length_batches_cover_everything_once():
    lengths = [5, 1, 300, 20, 20, 7, 0, 1000]
    batches = length_batches(lengths, max_tokens=600, max_batch=3)
    flat = sorted(i for b in batches for i in b)
    assert flat == list(range(len(lengths)))
    assert all(len(b) <= 3 for b in batches)
    model = SentimentRNN(30, "gru", embed_dim=4, hidden_size=8)
    seqs = [[2] * n for n in lengths]
    batched = batched_logits(model, seqs, max_tokens=600)
    one_by_one = torch.stack([batched_logits(model, [s])[0] for s in seqs])
    assert torch.allclose(batched, one_by_one, atol=1e-5)


def test_unknown_arch_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown architecture"):
        SentimentRNN(10, "transformer")
