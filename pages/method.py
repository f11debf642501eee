"""Method: what every number in the explorer means, in plain words, with its formula, what to look for and
when not to trust it. Other pages link here with ui.navigation.method_link(anchor)."""
from __future__ import annotations

import streamlit as st

from core.analysis import attractor as A
from core.analysis import dynamics as D
from core.analysis import modulation as M
from core.analysis import position as P
from core.analysis.error_analysis import SLICES
from core.experiments.claims import CLAIMS, PAPERS, VERDICTS
from ui.navigation import ANCHORS
from ui.state import current

TITLES = {"readout": "Readout y and P(positive)", "fixed-points": "Fixed points, slow points and the line attractor",
          "linearisation": "Linearisation: Jacobian, eigenvalues, timescales, drift",
          "attractor-figures": "What the attractor is: when to call it a line",
          "neutral-input": "The neutral input x\\*", "reference": "The reference point h\\*_ref",
          "valence": "Persistent valence v, exact v_relax and context-free v0",
          "modulation": "Contextual modulation m = v / v0", "deflection": "Deflection off the attractor",
          "modifiers": "Modifiers: M(k), strength, timescale, classes",
          "position": "Position effects: beginning and end of a document",
          "bow": "Bag-of-words and the context-augmented bag-of-words", "errors": "Error-analysis slices",
          "claims": "The papers' claims: the rule of each verdict"}


def section(anchor: str, plain: str) -> None:
    """A section's header (with its stable anchor) and its one-line summary."""
    st.header(TITLES[anchor], anchor=anchor, divider="gray")
    st.markdown(f"**In plain words:** {plain}")


def read(look: str, distrust: str) -> None:
    """What to look for, and when the numbers should not be trusted."""
    st.markdown(f"**What to look for.** {look}")
    st.warning(f"**When not to trust it.** {distrust}", icon=":material/report:")


current()   # the shared sidebar and URL, as on every page
st.title("Method: how to read the explorer")
st.markdown(
    "The explorer takes a trained recurrent network (RNN) that reads a review word by word and says whether it is "
    "positive, and asks *how* it does it. The answers follow two papers: Maheswaranathan, Williams, Golub, Ganguli "
    "& Sussillo, *Reverse engineering recurrent networks for sentiment classification reveals line attractor "
    "dynamics* (NeurIPS 2019), and Maheswaranathan & Sussillo, *How recurrent networks implement contextual "
    "processing in sentiment analysis* (ICML 2020). Where the papers leave a definition open, the explorer makes "
    "its own choice; this page says what each number is. Notation: tokens w_1 … w_T, their embeddings "
    "x_t = E[w_t], the network's state h_t = F(h_{t-1}, x_t) after token t, starting from h_0.")
st.markdown("**Sections:** " + " · ".join(f"[{TITLES[a]}](#{a})" for a in ANCHORS))

# ---- readout ------------------------------------------------------------------------------------
section("readout", "the network keeps a running score; its sign is the verdict, its size the confidence.")
st.latex(r"y(h) = w \cdot h + b, \qquad P(\text{positive}) = \sigma\big(y(h_T)\big) = \frac{1}{1 + e^{-y(h_T)}}")
st.markdown(
    "The readout y is a fixed weighted sum of the state, in *logit units*: y = 0 is undecided (P = 0.5), y = +2 "
    "means P ≈ 0.88, y = −2 means P ≈ 0.12. Only the readout after the last token is the prediction; the readout "
    "after each earlier token shows how the score built up. The change a token makes at once is "
    "dy_t = y(h_t) − y(h_{t−1}).")
read("the tokens where the readout jumps, and whether those jumps last or fade over the next tokens.",
     "dy mixes the lasting part of a token's effect with a part that fades within a few tokens (use the "
     "persistent valence v for the lasting part). A model with a token window (imdb-gru reads the last 500 tokens) "
     "ignores the rest of a long text; the pages say when a text was cut.")

# ---- fixed points -------------------------------------------------------------------------------
section("fixed-points", "resting states: feed the network a word that means nothing and these states stay where "
                        "they are. Lined up, they form the network's memory of the score so far.")
st.latex(r"h^* = F(h^*, x^*), \qquad q(h) = \tfrac{1}{N}\,\lVert h - F(h, x^*) \rVert^2")
st.markdown(
    "x\\* is the neutral input (see [below](#neutral-input)); N is the size of the state. q measures how far one "
    "neutral step moves a state. The explorer starts from states the network visits on real text (the *seeds*) "
    "and drives q down:\n"
    "- **fixed point**: q < 10⁻⁸ — the state does not move;\n"
    "- **slow point**: 10⁻⁸ ≤ q < 10⁻⁶ — it moves, but slowly; the papers' attractor is approximate, made of both.\n\n"
    "**Line attractor.** On a sentiment RNN the fixed and slow points line up along a curve, ordered by their "
    "readout from negative to positive. A positive word pushes the state along the line towards positive, a negative "
    "word towards negative, and neutral words leave it where it is: the position on the line *is* the running "
    "score. The explorer shows the points on their first two principal components, coloured by readout.")
read("points that span both signs of the readout, most of their variance on one principal component, most of them "
     "stable, and most seeds converged.",
     "points only on one side of readout 0 (no line through the neutral state at this neutral input: a warning "
     "says so), few converged seeds, or many unstable points. A different neutral input or number of seeds can give "
     "a different set of points.")

# ---- linearisation ------------------------------------------------------------------------------
section("linearisation", "close to a resting state, the network behaves like a simple linear system whose "
                         "directions each either hold on to information or forget it at their own pace.")
st.latex(r"F(h, x) \approx h^* + J_\mathrm{rec}\,(h - h^*) + J_\mathrm{inp}\,(x - x^*), \qquad "
         r"J_\mathrm{rec} = \frac{\partial F}{\partial h}\Big|_{h^*} = R\,\mathrm{diag}(\lambda)\,L, \quad L = R^{-1}")
st.markdown(
    "The recurrent Jacobian J_rec says how a small push off the fixed point h\\* evolves over one neutral step. Its "
    "eigenvalues λ_a (sorted by |λ|, largest first) and eigenvectors split the push into *modes*: the part along "
    "the right eigenvector r_a, of size l_a · (push) with the left eigenvector l_a, is multiplied by λ_a at every "
    "step.")
st.latex(r"\tau_a = -\frac{1}{\ln|\lambda_a|}\ \text{tokens} \qquad (|\lambda_a| < 1), \qquad "
         r"\text{growth time} = \frac{1}{\ln|\lambda_a|} \qquad (|\lambda_a| > 1)")
st.markdown(
    "- **|λ| < 1, stable:** the push decays; after τ tokens about 37% (1/e) is left. τ is the mode's *timescale*.\n"
    "- **|λ| = 1:** the push neither grows nor decays (τ = ∞): perfect memory.\n"
    "- **|λ| > 1, unstable:** the push grows, by ×e every growth time; the explorer shows that growth time, never an "
    "infinite timescale. A point counts as stable when every |λ| ≤ 1 + 10⁻³ (growth slower than 1,000 tokens).\n"
    "- **Integration mode r₁, l₁.** r₁ points along the attractor; l₁ measures how much of a push goes along it. "
    "Once the other modes have faded, a push δ has moved the state to about h\\* + r₁ (l₁ · δ): that part is "
    "remembered, the rest is forgotten. w · r₁ is how much moving along r₁ changes the readout.\n"
    "- **Which mode is r₁, l₁: tracked along the attractor.** At the reference point it is the slowest mode (the "
    "largest |λ|). From there the explorer walks outwards over the fixed and slow points, each time to the point "
    "nearest to one already done (a minimum spanning tree), and takes, among that point's "
    f"{D.TRACK_CANDIDATES} slowest modes (a "
    "complex pair counts once), the one that best carries its neighbour's r₁: split along that point's modes, the "
    "neighbour's r₁ should lie almost wholly in the chosen one (the remainder e = |r₁ − r (l · r₁)| / |r₁| small; "
    "√(1 − e²) is the cosine between the two r₁ when the modes are orthogonal), with the same orientation. Comparing "
    "the right eigenvectors alone is not enough: in a trained GRU the slow modes' r are often nearly parallel, and "
    "only their l tell them apart. Where two modes have |λ| close to each other, \"largest |λ|\" could switch "
    "between them from one point to the next, and v with it; the tracked mode does not. Where no candidate reaches "
    f"{D.TRACK_MIN_COS:g} (across a gap, or where several modes are equally slow), it starts again from the slowest "
    "mode.\n"
    "- **|λ₁|** is the integration mode's |λ|: the largest at the reference, and at most points; on a line attractor "
    "it is close to 1 and the next ones are clearly smaller.\n"
    "- **Drift.** A real attractor leaks: the drift is the number of neutral tokens a state on it needs to move its "
    "readout by one logit (median over points, capped at 2,000). Compare it with the median document length.\n"
    "- **Linearisation error:** the one-step error of the linear formula above on states from real text, relative "
    "to the size of the state it reaches (the Dynamics page). Relative to the *step* it must predict, F(h, x) − h, "
    "it is larger: `python -m core validity` reports both, and the v_relax steps K against the "
    "slowest decaying transient.")
read("|λ₁| ≈ 1 with a gap to λ₂ (slow memory, fast transients); a slowest timescale much longer than a document; "
     "a drift longer than a document; r₁ aligned with the attractor's first principal component; a linearisation "
     "error of about 10% or less.",
     "a linearisation error of tens of percent (the linear picture is a poor description there), unstable modes at the "
     "point in question, or a drift shorter than the documents (the network forgets the start of a review before the "
     "end). Complex eigenvalues come in pairs and make a push oscillate as it decays; their τ uses |λ|.")

# ---- attractor figures --------------------------------------------------------------------------
section("attractor-figures", "paper B found a *line* of resting states in its networks. Whether a given network has "
                             "one is measured, not assumed: points on both sides of 0 are not enough.")
st.latex(r"\tau_\mathrm{int} = \frac{1}{\lvert \ln|\lambda_1| \rvert}\ \text{tokens at } h^*_\mathrm{ref}, "
         r"\qquad \text{drift} = y(\Phi_T(h^*_\mathrm{ref})) - y(h^*_\mathrm{ref}),\ T = \text{median document}")
st.markdown(
    "- **Integration timescale**: of the integration mode at the reference point (the slowest mode there), a "
    "marginal mode slightly above 1 included and labelled (marginal, growing or decaying); shown apart from the **slowest decaying "
    "transient**, the slowest of the other modes.\n"
    f"- **Largest gap** between neighbouring fixed or slow points, counted where the readout is in play (within "
    f"{A.GAP_WINDOW:g} logits of 0).\n"
    f"- **Marginal points near 0**: of the points within {A.NEAR_ZERO:g} logit of readout 0, the share with "
    f"{A.MARGINAL_LOW:g} ≤ |λ₁| ≤ 1 + 10⁻³ (|λ₁| of the tracked integration mode) and no |λ| above 1 + 10⁻³.\n"
    "- **Reference drift**: how far the readout moves when the reference point reads a median document's number of "
    "neutral inputs.\n\n"
    "**The rule.** The explorer says *line attractor* only when the fixed and slow points reach both sides of readout "
    f"0, with no gap over {A.GAP_MAX:g} logit between neighbours within {A.GAP_WINDOW:g} logits of 0, at least "
    f"{A.MARGINAL_SHARE_MIN:.0%} of the points near 0 marginally stable, and a reference drift under "
    f"{A.DRIFT_SHARE_MAX:.0%} of the points' readout extent per median document. Otherwise it says what there is: "
    f"*{A.ONE_SIDED}* (every point on one side of 0), *{A.GAPPED}* (nothing holds the states in between), or "
    f"*{A.LEAKY}* (points all along, but not marginal near 0, or the reference leaks).")
read("the verdict above the Dynamics page's figures. The toy GRU, built to integrate, meets the rule; a real network "
     "that does not is a finding about that network (paper B reports lines), not a failure of the page.",
     "a dynamics analysis with few converged seeds (points may be missing where the network has them), or a neutral "
     "input that puts the reference far from 0; the gap and the near-0 share depend on which points were found.")

# ---- neutral input ------------------------------------------------------------------------------
section("neutral-input", "what 'a word that means nothing' is for this network. Fixed points, neutral steps and "
                         "every valence are measured against it.")
st.markdown(
    "The network never sees 'no word'; it always reads some embedding. The neutral input x\\* stands for a word "
    "without sentiment. The explorer offers:\n"
    "- **quiet** (the default): the average embedding of the frequent words that move the state least "
    "(found automatically; the pages list them);\n"
    "- **zero**: x\\* = 0, the papers' choice. A network trained on real words may never have seen an all-zero input, "
    "so its fixed points at zero can sit far from readout 0;\n"
    "- **mean**: the average embedding of the 1,000 most frequent words (sentiment words and modifiers included);\n"
    "- **a filler word** such as `the`.\n\n"
    "It matters because it defines the resting states (fixed points are solved at x\\*), what the neutral steps in "
    "v_relax, M(k) and the position curves are, and the baseline of every valence: v compares a word with x\\*, so "
    "'valence' always means 'compared with saying nothing in particular'. Every page says which x\\* it used.")
read("the neutral input named beside each figure; the same conclusion at two different settings is a robust one.",
     "an x\\* that contains sentiment or modifier words (mean, or a filler word with some valence) shifts every "
     "valence; a new x\\* moves the fixed points and the reference point, so numbers from different settings are not "
     "comparable. Any setting other than the shipped default is solved once, which can take minutes.")

# ---- reference ----------------------------------------------------------------------------------
section("reference", "the network's 'no opinion yet' state, where context-free valences, modifier strengths and "
                     "position curves are measured.")
st.markdown(
    "h\\*_ref is the *stable* fixed or slow point whose readout is closest to 0 and whose integration mode actually "
    "moves the readout. A word's context-free valence v0 is measured by sending that word into h\\*_ref; a modifier's "
    "strength, by sending the modifier and then probe words. Every page shows the reference point's readout and "
    "|λ₁|, and a warning when it is not a good neutral state.")
read("a readout within about 1 logit of 0 and |λ₁| at or just below 1.",
     "a reference point far from readout 0: the state there is near saturation, where every push moves the readout "
     "less, so valences and strengths come out compressed (and ordinary words can look like modifiers). An unstable "
     "reference point (no stable one exists): states leave it, so everything measured there is unreliable. The "
     "'Reference point' warnings on each page say when either happens.")

# ---- valence ------------------------------------------------------------------------------------
section("valence", "how much a token moves the part of the score that lasts: what it adds to the final answer "
                   "if everything after it were neutral, in logit units.")
st.latex(r"v(h, x) = (w \cdot r_1)\; l_1 \cdot \big[F(h, x) - F(h, x^*)\big]")
st.latex(r"v_\mathrm{relax}(h, x) = y\big(\Phi_K(F(h, x))\big) - y\big(\Phi_K(F(h, x^*))\big), \qquad "
         r"v_0(w) = v(h^*_\mathrm{ref}, E[w])")
st.markdown(
    "- **v** (persistent valence) takes the difference the token makes compared with the neutral input, and keeps "
    "only its component along the attractor — the part that survives once transients fade. r₁ and l₁ are taken at "
    "h\\*(h), the fixed or slow point nearest to the state h.\n"
    "- **v_relax** is the exact version: run both branches (with the token, with x\\*) for K neutral steps (Φ_K) and "
    "compare the readouts. It needs no linear approximation but is slower; K is long enough for the transients to "
    "fade and short enough that the attractor's own drift does not count.\n"
    "- **v0** (context-free valence) is the word's valence in the neutral state h\\*_ref, with no context before it: "
    "'good' has v0 > 0, 'bad' v0 < 0, 'the' about 0.\n\n"
    "On a good line attractor the v of all tokens add up to about the final readout minus the starting one.")
read("v and v_relax agreeing in sign and roughly in size; large |v| on sentiment words, small on the rest.",
     "v and v_relax disagreeing (opposite signs, or sizes apart by more than about half): the linear estimate is not "
     "valid at that state — prefer v_relax. A reference point far from 0 compresses v0 (see above). The Phrase page "
     "computes v_relax for short texts by default.")

# ---- modulation ---------------------------------------------------------------------------------
section("modulation", "how the words before a token change what it counts for: is 'good' still good, stronger, "
                      "weaker, or reversed here?")
st.latex(r"m_t = \frac{v(h_{t-1}, x_t)}{v_0(w_t)} \qquad "
         r"\text{shown only where } |v_0(w_t)| > \text{valence threshold}")
st.markdown(
    "- **m ≈ 1**: the context changes nothing (the pages read |m − 1| ≤ 0.2 as 'about 1');\n"
    "- **m > 1**: amplified ('very good');\n"
    "- **0 ≤ m < 1**: attenuated;\n"
    "- **m < 0**: flipped ('not good' counts as a negative word).\n\n"
    "The **valence threshold** is a tenth of the 99th percentile of |v0| over the vocabulary: words with less "
    "valence than that have no m, because dividing by a number close to 0 gives noise.")
read("m < 0 or well below 1 after negations, m > 1 after intensifiers, m ≈ 1 elsewhere.",
     "tokens below the valence threshold (no m is shown, on purpose); tokens where v and v_relax disagree (m inherits "
     "the error of v); a reference point far from 0. The first token of a text is read from the starting state h_0, "
     "not from h\\*_ref, so its m need not be 1 even without context (see [position effects](#position)).")

# ---- deflection ---------------------------------------------------------------------------------
section("deflection", "how far a token knocked the state off the line of resting states — the place where "
                      "modifiers leave their mark.")
st.latex(r"\mathrm{deflection}_t = \lVert h_t - h^*(h_t) \rVert, \qquad c_a = l_a \cdot (h_t - h^*)")
st.markdown(
    "A word like 'not' carries little valence of its own: it does not move the state *along* the attractor but "
    "*off* it, into fast modes. While the state is off the line, the next words act differently (that is the "
    "modulation m); as those modes decay, with their timescales τ_a, the state returns to the line and the effect "
    "fades. The split c_a says which modes were excited. **Mode ablation** removes chosen modes right after a token "
    "and runs the rest of the text: if the modifier's effect disappears, those modes carried it.")
read("deflection spikes after modifiers, decaying over a few tokens; the timescales of the excited modes next to "
     "the modifier's effect timescale.",
     "large deflections: the linear picture assumes the state is near h\\*, so v and m are less accurate there (check "
     "v_relax); the nearest point h\\*(h) can jump between parts of the attractor from one token to the next.")

# ---- modifiers ----------------------------------------------------------------------------------
section("modifiers", "words such as 'not' and 'very' that carry little sentiment themselves but change how much "
                     "the following words count, for a few tokens.")
st.latex(r"e_a(h, p) = y\big(\Phi_R(F(h_a, E[p]))\big) - y\big(\Phi_R(F(h_a, x^*))\big),\quad "
         r"h_a = \Phi_{k-1}(F(h, a)),\qquad g_m(h, k) = \frac{\sum_p e_m(h, p)\, e_{x^*}(h, p)}{\sum_p e_{x^*}(h, p)^2}")
st.latex(r"M_m(k) = \operatorname*{median}_{h}\ g_m(h, k), \qquad \text{statistic}_m = M_m(1) - "
         r"\operatorname*{median}_{u \in \mathrm{null}(m)} M_u(1)")
st.markdown(
    "- **What is measured**: a word modifies when it changes how much the words after it move the output, beyond what "
    "its own valence does. e_a(h, p) is a strong valence word p's lasting effect on the output (with p versus with "
    "the neutral input, both run on for R neutral tokens), read k tokens after the word a; both branches contain a, "
    "so a's own push cancels. g is the factor by which the word m scales those effects compared with the neutral "
    "input (least squares over 16 probe words, 8 of each sign), and **M(k)** its median over 32 starting states "
    "taken from real text (random prefixes of test reviews), or, where no text is on this machine, from random "
    "prefixes of frequent words. States where the probes hardly move the output (deep in an end attractor) say "
    "nothing about a factor and are left out. All of it runs the network itself, not its linearisation.\n"
    "- **Matched null**: a strong valence word also changes what follows, by pushing the state where inputs count "
    "less (saturation). So each word is judged against ordinary words like it: the 100 screened words nearest in "
    "own valence v0 (signed) and, with a quarter of the weight, in frequency. The **statistic** is M(1) minus the "
    "null's median; the null band is ± 3 robust standard deviations (1.4826 × MAD, at least 0.02) of the null.\n"
    "- **Intervals** of M(k) are order statistics across the starting states (ranks n/2 ∓ 1.96·√n/2, nominally "
    f"95%); their exact coverage for continuous values is {M.interval_coverage(M.N_STATES):.1%} at the "
    f"{M.N_STATES} states of M(1), {M.interval_coverage(M.CURVE_STATES):.1%} at the {M.CURVE_STATES} of the curves "
    f"M(2..K) and {M.interval_coverage(M.SCREEN_STATES):.1%} at the screen's {M.SCREEN_STATES}: read the curves' "
    "bands as about 92% intervals.\n"
    "- **Classes**: *negator*: the 95% interval of M(1) (across starting states) lies below 0 (the next word is "
    "reversed); *attenuator*: M(1) more than 3 robust standard deviations below its null's median, with the "
    "interval below that median; *intensifier*: the same above; *none*: everything else.\n"
    "- **Screen, then confirmation**: a fast linear estimate (each effect replaced by its linearisation at the "
    "attractor point nearest the state, the same point for both branches) screens the 5,000 most frequent words "
    "at 8 states. The flagged words (the strongest 60) are then measured exactly at 32 states, and judged "
    "against the exact factors (at 8 of those states) of the 20 nearest ordinary words of their matched null. Only confirmed words are "
    "listed; the counts of flagged, measured and confirmed words are shown.\n"
    "- **Where the integration mode misses the readout** (w · r₁ = 0, as on sst2-lstm: every linearised valence v0 "
    "is 0), nothing is linearised: a word's valence is its own exact effect on the output R tokens later (median "
    "over 8 starting states), the probes are the strongest words by that valence (never the papers' modifier "
    "words, and never one that modulates the others), the matched nulls use it, and the screen is exact. Nothing "
    "lasts in such a network, so R is the median document's length (the effect at the end of a typical text) "
    "instead of the engine's K; no curve is predicted from the modes.\n"
    "- **Valence left in the statistic**: the rank correlation of v0 with the statistic over the screened words. "
    "Near 0 means the statistic does not measure the word's own valence.\n"
    "- **Strength s = M(1) − 1** and **timescale τ** (tokens): from the exact curve M(1..K) (16 starting states), "
    "fitted as c + a·exp(−(k−1)/τ) with a free asymptote c (R² under 0.5: no timescale).\n"
    "- **Predicted curve and curve error**: the curve the modes the word excites at the reference point predict, "
    "1 + Re Σ_a c_a λ_a^(k−1) with c_a = (G · r_a)(l_a · d⊥), beside the measured one; the curve error is the RMS "
    "distance between them. Paper A says the two match. (The rank correlation of τ with the modes' timescale is "
    "given only with its bootstrap interval: over a handful of words it says little.)\n"
    "- **Real-text agreement and its base rate**: in test texts where the word comes at most 3 tokens before a "
    "sentiment word (not itself a flagged word), the share of cases where replacing the word by x\\* changes that "
    "word's effect on the final output the way the class says (none under 5 cases). The **base rate** is the same "
    "check, with the same rule, on the 10 ordinary words nearest in frequency: how often a word that modulates "
    "nothing agrees by chance. Agreement means something only well above it.\n"
    "- **Modifier subspace and UMAP clusters**: the modifiers' deflections off the attractor, on their first two "
    "principal components (intensifiers and negators tend to sit on opposite sides), and a UMAP map of each "
    "modifier's deflection and curve with a clustering on top: words in one cluster act alike.")
read("a few confirmed modifiers (not, never, no, n't, very, extremely) with narrow intervals far from their null, "
     "τ of a few tokens, good fits, real-text agreement well above its base rate, and a valence correlation near 0.",
     "an interval that touches the null band; many flagged words the exact measurement does not confirm; a poor fit "
     "(low R²); real-text agreement no higher than its base rate. UMAP keeps neighbours, not distances: read "
     "clusters, not how far apart they are, and not from a handful of words.")

# ---- position -----------------------------------------------------------------------------------
section("position", "does a word count more when it comes first, or when it comes last?")
st.latex(r"e_\mathrm{begin}(p) = \operatorname*{median}_{w \in P}\, s_w \big[y(\Phi_K(F(h_{p-1}, E[w]))) - "
         r"y(\Phi_K(F(h_{p-1}, x^*)))\big], \quad h_{p-1} = \Phi_{p-1}(h_0)")
st.latex(r"e_\mathrm{end}(k) = \operatorname*{median}_{w \in P}\, s_w \big[y(\Phi_k(F(h^*_\mathrm{ref}, E[w]))) - "
         r"y(\Phi_k(F(h^*_\mathrm{ref}, x^*)))\big]")
st.latex(r"e(x) \approx c + a\, e^{-(x - x_0)/\tau}")
st.markdown(
    "Both curves are in **logits**, the readout's own units (ratios to v0 at a compressed reference inflate).\n"
    "- **e_begin(p)**: what a probe word leaves in the readout once it has relaxed (K neutral steps, as v_relax) "
    "when it is the p-th input after p − 1 neutral inputs from the starting state h_0;\n"
    "- **e_end(k)**: what a word adds to the readout when k neutral inputs follow it (the end effect: a word near "
    "the end has not settled yet);\n"
    "- s_w, the sign of the word's v0, makes each curve a magnitude; the median over the probe words P comes with "
    "its 95% interval across them (order statistics), the band on the charts;\n"
    f"- **Window**: both curves cover W positions, the median document of the model's training data in tokens, "
    f"held within {P.WINDOW_MIN}..{P.WINDOW_MAX} (SST-2's phrases: 7 tokens, so 10; IMDB's reviews: 211): a "
    "50-position curve says nothing about 7-token sentences;\n"
    "- **Fit** c + a·exp(−(x − x0)/τ) with a free asymptote c, the effect deep inside the document (or long after "
    "the word): least squares over a grid of τ up to the window's length, c and a solved for each τ. a > 0: words "
    "at that end count more than deep inside, a < 0 less; τ: how many tokens the effect reaches;\n"
    f"- **Flat within noise**: a curve whose range (largest minus smallest point) is at most {P.FLAT_NOISE:g} × its "
    "noise, the median width of its 95% interval across probe words, does not vary beyond how much the words "
    "disagree: no amplitude, timescale or R² is reported for it, only its level.")
read("a flat curve (the toy language's truth: no position effect), or a decay well beyond the band with a good fit "
     "and a timescale shorter than the window; the same effect in the fitted numbers and the curve.",
     "a poor fit (low R²: read the curve, not the numbers); a timescale at the window's length (slower than the "
     "window can tell apart from a line); a reference point far from 0; neutral inputs are not real text, so the "
     "real effect in documents can differ.")

# ---- bag of words -------------------------------------------------------------------------------
section("bow", "how much of what the RNN does better than simply counting words is explained by the modifiers "
               "and position effects it uses?")
st.latex(r"\text{BoW: } y = b + \sum_t \beta[w_t] \qquad "
         r"\text{augmented: } y = b + \sum_t \beta[w_t]\, f_t\, g(t)")
st.latex(r"f_t = \prod_{s<t} \Big(1 + \alpha[w_s]\, e^{-(t-s-1)/\tau[w_s]}\Big), \qquad "
         r"g(t) = 1 + a_b\, e^{-(t-1)/\tau_b} + a_e\, e^{-(T-t)/\tau_e}")
st.latex(r"\text{gap recovered } G = \frac{\mathrm{acc}_\mathrm{aug} - \mathrm{acc}_\mathrm{BoW}}"
         r"{\mathrm{acc}_\mathrm{RNN} - \mathrm{acc}_\mathrm{BoW}}")
st.markdown(
    "The bag-of-words (BoW) gives each word a weight β and adds them up, ignoring order. The context-augmented BoW "
    "scales each word's weight by the modifiers before it (f_t, with α and τ nonzero only for the RNN's modifiers) "
    "and by its position (g). The modifiers are the **confirmed** ones of the modifier analysis (measured on the real "
    "recurrence and judged against their matched null; at most 30, strongest first), never a long list ranked by a "
    "linear estimate, which would mostly carry the words' own valence. α is a word's exact M(1) − 1 and τ the "
    "timescale of its measured curve. Variants: **mod_fixed** (α, τ as measured; only β is learned: the headline, "
    "since nothing about the mechanism is fitted), **mod_learned** (α, τ learned from there), **position** (g only), "
    "**full** (both, learned). Two controls are built exactly like mod_fixed: **valence_only** gives the same words "
    "the effect their valence alone predicts (α = the median exact M(1) − 1 of the word's matched null, ordinary "
    "words of the same valence and frequency), and **shuffled** puts the same (α, τ) on random ordinary words of "
    "similar frequency (within a factor 2 in frequency rank; seeded). The headline's margin over each control is "
    "given with a paired bootstrap interval. A bigram model, which sees 'not good' as one feature, is a useful extra "
    "reference. **Gap recovered** G is the share of the RNN's accuracy advantage over the BoW that the augmented "
    "model wins back, with a bootstrap 95% interval; the ICML 2020 paper reports more than 90%.")
read("G near 100% with an interval that excludes 0, above both controls: the gain disappears when the same "
     "strengths are given to random words, or when the words get only what their valence predicts (so it comes from "
     "*which* words modify, and by how much beyond their valence). A shuffled control below 0 means that putting "
     "strong effects on the wrong words hurts, as it should.",
     "a small accuracy gap between RNN and BoW (a point or two): the interval of G then spans tens of percentage "
     "points and G can exceed 100% or fall below 0 by chance. Compare models only on the same test set.")

# ---- errors -------------------------------------------------------------------------------------
section("errors", "where does each model go wrong, and are the RNN's wins where its mechanisms say they should be?")
st.markdown(
    "A **slice** is the part of a test set picked by a rule about the tokens the RNN reads. *Strong valence words* "
    "are the RNN's own: the vocabulary words with the largest context-free valence |v0|. A text can be in several "
    "slices. The slices:\n" + "\n".join(f"- **{name}**: {rule}" for name, rule in SLICES.items()))
st.latex(r"\text{error rate}(S) = \frac{1}{|S|} \sum_{i \in S} \mathbf{1}[\hat{y}_i \neq y_i], \qquad "
         r"\text{accuracy} = 1 - \text{error rate}(\text{all})")
st.markdown(
    "Each slice shows its size n and the error rate of the RNN, the plain bag-of-words and the context-augmented "
    "one; the overall accuracy comes with a 95% (Wilson) interval. If the RNN's advantage comes from modifiers and "
    "position effects, its error rate should drop most, relative to the bag-of-words, on the negator, intensifier "
    "and strong-start/strong-end slices, and the augmented bag-of-words should close much of that difference. The "
    "texts where the models disagree are listed, each one click away from the Phrase page.")
read("slices where the models' error rates differ clearly, and single texts from them opened in Phrase to see why.",
     "small slices (with n of a few dozen, one text more or less moves the error rate by percents; the interval of "
     "an error rate k / n is roughly ±1/√n); differences smaller than that; slices that overlap (a text with a "
     "negator is often also long); label noise in the data set itself.")

# ---- claims -------------------------------------------------------------------------------------
section("claims", "for each thing the two papers found, what this network shows, and a verdict reached by a rule "
                  "written down in advance.")
st.markdown(
    "The *Papers' claims* page (and `python -m core claims MODEL`) takes each claim of paper A (" + PAPERS["A"]
    + ") and paper B (" + PAPERS["B"] + "), reads the figure that tests it from the model's stored analyses, and "
    "gives a verdict: " + ", ".join(f"*{v}*" for v in VERDICTS) + ". *Does not apply*: the analysis does not apply "
    "to this network (its integration mode does not reach the readout) or there is nothing to judge; *not "
    "measured*: the stored analysis lacks the figure. The rules, as the code applies them:")
for c in CLAIMS:   # the rule texts of core.experiments.claims: what the verdicts follow, word for word
    st.markdown(f"- **{c.title}** (paper {c.paper}): {c.claim}")
    st.text(f"  rule: {c.rule}")
read("the verdicts that hold across architectures and datasets, and the figure beside each verdict (a *partly* "
     "can sit close to either side of its thresholds).",
     "a verdict is only as good as its stored analysis: a reference point far from readout 0 compresses the modifier "
     "strengths, a comparison with a small RNN-BoW gap has a wide interval, and the thresholds are choices (stated "
     "above), not the papers' own numbers except where the papers give one (about 90% of the variance on the top "
     "2-3 components; more than 90% of the gap recovered).")
