"""One explanation for every model kind (core.models.classifier): tokens, per-token contributions in logit
units and a baseline that add up to the model's own logit, on hand-worked and designed models."""
import numpy as np
import pytest
import torch

from core.data.text import PAD, UNK, Vocab
from core.models.bow import BowClassifier
from core.models.classifier import Classifier
from core.models.rnn import ARCHS, RNNClassifier, SentimentRNN
from core.models.store import MODELS_DIR, load_model

TEXT = "not a very good film , and awful acting"


def test_bow_explanation_is_its_weights_and_bias():
    """Hand-worked: beta(good) = 2, beta(bad) = -1.5, bias 0.25; a bigram (not, good) of -3 is credited to good."""
    vocab = Vocab([PAD, UNK, "good", "bad", "not"])
    beta = np.array([0.0, 0.1, 2.0, -1.5, -0.5])
    bow = BowClassifier(vocab, beta, 0.25, {"kind": "bigram"}, [(4, 2)], np.array([-3.0]))
    ex = bow.explain("not good , bad")
    assert ex.tokens == ["not", "good", ",", "bad"]
    assert np.allclose(ex.contributions, [-0.5, 2.0 - 3.0, 0.1, -1.5])   # "," is <unk>: beta[1]
    assert ex.baseline == 0.25
    assert ex.logit == pytest.approx(0.25 - 0.5 - 1.0 + 0.1 - 1.5)
    assert ex.p_positive == pytest.approx(1 / (1 + np.exp(-ex.logit)))
    assert ex.logit == pytest.approx(float(bow.logits(["not good , bad"])[0]), abs=1e-5)


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("truncate", ["head", "tail"])
def test_rnn_explanation_adds_up_to_its_logit(arch, truncate):
    """A designed RNN that reads only 4 tokens: the explanation covers exactly those, starts from y(h_0) and
    ends at the logit of the fused batched path."""
    torch.manual_seed(3)
    vocab = Vocab([PAD, UNK] + sorted(set(TEXT.split())))
    net = SentimentRNN(len(vocab), arch, embed_dim=6, hidden_size=5).eval()
    with torch.no_grad():
        net.h0.normal_(0, 0.5)
    clf = RNNClassifier(net, vocab, {"arch": arch, "max_len": 4, "truncate": truncate})
    ex = clf.explain(TEXT)
    words = TEXT.split()
    assert ex.tokens == (words[:4] if truncate == "head" else words[-4:])
    assert ex.baseline == pytest.approx(float(net.logit_of_state(net.h0).detach()), abs=1e-6)
    assert ex.readout()[-1] == pytest.approx(ex.logit)
    assert ex.logit == pytest.approx(float(clf.logits([TEXT])[0]), abs=1e-5)
    # each contribution is the readout's change at that token
    states = net.states(torch.tensor(vocab.encode(ex.tokens)))
    y = net.logit_of_state(states).detach().numpy()
    assert np.allclose(ex.contributions, np.diff(y), atol=1e-6)
    assert clf.explain("").tokens == [] and clf.explain("").logit == pytest.approx(ex.baseline)


@pytest.mark.parametrize("name", ["toy-gru", "toy-bow", "toy-aug"])
def test_every_shipped_kind_explains_in_one_shape(name):
    """The Start page's three models: one shape, and the logit each explanation adds up to is the model's."""
    clf = load_model(MODELS_DIR / name)
    assert isinstance(clf, Classifier)
    text = "not good , very awful and awesome"
    ex = clf.explain(text)
    assert len(ex.tokens) == len(ex.contributions) == 7
    assert ex.baseline + ex.contributions.sum() == pytest.approx(ex.logit)
    assert ex.logit == pytest.approx(float(clf.logits([text])[0]), abs=1e-4)
    assert ex.p_positive == pytest.approx(float(clf.predict_proba([text])[0]), abs=1e-5)
    assert set(ex.to_dict()) == {"tokens", "contributions", "baseline", "logit", "p_positive", "how"}
