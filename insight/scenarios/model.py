"""咨询场景: a jieba + scikit-learn classifier that maps every chat to one scenario of the fixed
taxonomy (``data/scenarios/taxonomy.csv``) and says which buyer sentences, and which words in
them, triggered it.

- Turn level: one ``Pipeline`` (word tf-idf over jieba tokens + character n-grams → logistic
  regression) over buyer sentences, with a ``chitchat`` class for 你好/在吗/好的/order numbers.
- Session level: the whole conversation's buyer text read as one document, plus each buyer
  turn's vote (its class probabilities squared, so confident turns weigh more than hesitant
  ones); chit-chat turns carry almost no weight. Decoding is hierarchical (level 1, then level 2
  inside it, then level 3 inside that), so the three levels always agree. Too little evidence or
  too low a share → ``service.other.other``.
- Triggers: the turns that gave the chosen code most of its score, each with the words whose
  tf-idf × coefficient weighed most (eli5's linear explanation).

The corpus is the product's own (``data/scenarios/corpus.txt``), augmented deterministically with
eight seeds whose classifiers are averaged (``fit_pipeline``); corrections saved in a store are added
at the next training.
"""

from __future__ import annotations

import contextlib
import csv
import gc
import hashlib
import json
import multiprocessing as mp
import os
import pickle
import random
import re
import shutil
import time
import unicodedata
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
from scipy import sparse

from insight.core.errors import UsageError

__all__ = ["Taxonomy", "taxonomy", "normalise", "tokenize", "load_corpus", "augment", "train", "ScenarioModel",
           "load_model", "model_path", "shipped_model_path", "fit_pipeline", "dev_half", "CHITCHAT", "OTHER", "evaluate_dialogues", "SEED"]

DATA = Path(__file__).resolve().parents[2] / "data" / "scenarios"
CHITCHAT = "chitchat"
OTHER = "service.other.other"
SEED = 20261122
# Session decoding: the weight of the whole-conversation reading against the summed turns, and the
# share of the evidence below which the chat is 其他.
DOC_WEIGHT = 3.0
MIN_SHARE = 0.08
# A turn's vote is its probabilities to this power: a sure turn (0.8) outweighs four hesitant
# ones (0.2 each) instead of equalling them.
TURN_POWER = 2.0
# Bump when the features or the decoding change in a way that needs a new artifact.
MODEL_FORMAT = "4"
# ``bag``: the classifier is the average of that many, each fitted on the corpus augmented with its own
# seed (seed, seed + 1, …) over one vocabulary. One augmentation's random draws moved the dev figures by
# ±0.013; the average is the expected model, at the cost of one classifier when classifying.
TRAINING_PARAMS = {"C": 16.0, "word_ngrams": (1, 2), "char_ngrams": (1, 3), "augment": 6, "seed": SEED, "bag": 8}


# -- taxonomy ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Taxonomy:
    codes: tuple[str, ...]
    names: dict  # code -> (l1, l2, l3)
    descriptions: dict

    def levels(self, code: str) -> tuple[str, str, str]:
        return self.names[code]

    def prefix(self, code: str, level: int) -> str:
        """The code's level-``level`` key: 'aftersale', 'aftersale.refund', 'aftersale.refund.apply'."""
        return ".".join(code.split(".")[:level])

    def label(self, key: str) -> str:
        """Chinese name of a level-1, level-2 or level-3 key."""
        level = key.count(".") + 1
        code = next((c for c in self.codes if self.prefix(c, level) == key), None)
        if code is None:
            raise UsageError(f"未知的咨询场景 {key!r}")
        return self.names[code][level - 1]


@lru_cache(maxsize=1)
def taxonomy() -> Taxonomy:
    with open(DATA / "taxonomy.csv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    return Taxonomy(tuple(r["code"] for r in rows), {r["code"]: (r["l1"], r["l2"], r["l3"]) for r in rows},
                    {r["code"]: r["description"] for r in rows})


# -- text normalisation ------------------------------------------------------------------------
# Placeholders, as exports anonymise them and as real text shows them, become one private-use
# character each: one token for jieba, one character for the n-grams, never shown as a trigger word.
_PLACEHOLDERS = [
    (re.compile(r"#e-[a-z]\[[^\]]*\]|\[[\u4e00-\u9fa5A-Za-z]{1,4}\]|/:[^\s/]{1,8}|<表情>"), " \ue001 "),
    (re.compile(r"\[ORDERID_\d+\]|<订单号>", re.I), " \ue002 "),
    (re.compile(r"\[USERID_\d+\]", re.I), " \ue003 "),
    (re.compile(r"\[(姓名|昵称|用户)x?\]|<姓名>"), " \ue003 "),
    (re.compile(r"\[(地址|站点|城市)x?\]|<地址>"), " \ue004 "),
    (re.compile(r"\[(电话|手机|手机号)x?\]|<手机号>|(?<!\d)1[3-9]\d{9}(?!\d)"), " \ue005 "),
    (re.compile(r"\[(金额|价格)x?\]|<金额>|[¥￥]\s*\d+(\.\d+)?|\d+(\.\d+)?\s*元"), " \ue006 "),
    (re.compile(r"https?://\S+|<链接>|\[链接x?\]", re.I), " \ue007 "),
    (re.compile(r"\[(日期|时间)x?\]|\d{4}[-/年]\d{1,2}[-/月]\d{1,2}日?"), " \ue008 "),
    (re.compile(r"(?<![a-z])\d{10,}(?![a-z])"), " \ue002 "),
    (re.compile(r"\[数字x?\]|<数字>|\d+"), " \ue009 "),
]
_SPACES = re.compile(r"\s+")
_PLACEHOLDER_TOKEN = re.compile("[\ue000-\ue0ff]")


@lru_cache(maxsize=200_000)
def normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text or "").lower()
    for pattern, token in _PLACEHOLDERS:
        text = pattern.sub(token, text)
    return _SPACES.sub(" ", text).strip()


_jieba = None
_JIEBA_BLOCK = None  # jieba's pattern of a block it cuts on its own (runs of Han, letters, digits)
_PUNCT = re.compile("^[^\\w\ue000-\ue0ff]+$|^_+$")  # punctuation only; placeholders are words


def _tokenizer():
    global _jieba
    if _jieba is None:
        import logging

        import jieba

        jieba.setLogLevel(logging.WARNING)
        tk = jieba.Tokenizer()
        tk.load_userdict(str(DATA / "userdict.txt"))
        global _JIEBA_BLOCK
        _JIEBA_BLOCK = jieba.re_han_default
        _jieba = tk
    return _jieba


@lru_cache(maxsize=200_000)
def _block_tokens(block: str) -> tuple[str, ...]:
    # HMM off: new-word discovery costs half the time and the user dictionary covers our vocabulary.
    return tuple(t for t in _tokenizer().lcut(block, HMM=False) if t.strip() and not _PUNCT.match(t))


@lru_cache(maxsize=200_000)
def _tokens(normalised: str) -> tuple[str, ...]:
    # jieba cuts each run of Han characters and letters (its own block pattern) on its own, so a
    # sentence's words are its blocks' words: blocks repeat across sentences far more than whole
    # sentences do (你好, 在吗, 发票), and each is cut once.
    _tokenizer()
    return tuple(t for block in _JIEBA_BLOCK.split(normalised) if block for t in _block_tokens(block))


def tokenize(text: str) -> list[str]:
    """jieba words of the normalised text (placeholders stay single tokens, punctuation goes)."""
    return list(_tokens(normalise(text)))


# -- corpus ----------------------------------------------------------------------------------------
def load_corpus(path: Path | None = None) -> list[tuple[str, str]]:
    """(text, code) pairs of the corpus file; codes are checked against the taxonomy."""
    path = path or DATA / "corpus.txt"
    known = set(taxonomy().codes) | {CHITCHAT}
    out, code = [], None
    for n, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("# "):
            continue
        if line.startswith("## "):
            code = line[3:].strip()
            if code not in known:
                raise UsageError(f"{path} 第 {n} 行: 未知场景代码 {code!r}")
            continue
        if code is None:
            raise UsageError(f"{path} 第 {n} 行: 语句前缺少“## 场景代码”")
        out.append((line, code))
    return out


_PREFIXES = ["", "", "", "你好 ", "亲 ", "请问", "在吗 ", "你好，", "客服 ", "我想问下", "问一下", "那个", "麻烦问下",
             "您好 请问", "亲亲 ", "喂 ", "hi "]
_SUFFIXES = ["", "", "", "？", "呢", "啊", "呀", "吗", "哈", "?", " <表情>", "。", "！", "急", " 谢谢", "~", "，麻烦了"]
_INSERTS = ["<订单号> ", "订单 <订单号> ", "", "", "", "这个 ", "我买的 ", "我的 "]


def augment(pairs: list[tuple[str, str]], copies: int, seed: int = SEED) -> list[tuple[str, str]]:
    """Each utterance as written plus ``copies`` variants: greetings, particles, order numbers,
    emoji, and two sentences of the same scenario in one turn (buyers type several at once)."""
    rng = random.Random(seed)
    by_code: dict[str, list[str]] = {}
    for text, code in pairs:
        by_code.setdefault(code, []).append(text)
    out = list(pairs)
    for text, code in pairs:
        for _ in range(copies):
            roll = rng.random()
            if code != CHITCHAT and roll < 0.2:
                other = rng.choice(by_code[code])
                variant = f"{text} {other}"
            elif code != CHITCHAT and roll < 0.3:
                variant = f"{rng.choice(by_code[CHITCHAT])} {text}"
            else:
                variant = text
            if code != CHITCHAT and rng.random() < 0.3:
                variant = rng.choice(_INSERTS) + variant
            variant = rng.choice(_PREFIXES) + variant + rng.choice(_SUFFIXES)
            if rng.random() < 0.08 and len(variant) > 4:  # a dropped character, as fast typing does
                i = rng.randrange(len(variant))
                variant = variant[:i] + variant[i + 1:]
            out.append((variant, code))
    return out


# -- model -----------------------------------------------------------------------------------------
def model_path() -> Path:
    """The model this installation classifies with (not in git: `train --db` replaces it with one that has
    learnt a store's corrections)."""
    return DATA / "model.joblib"


def shipped_model_path() -> Path:
    """The model trained on the corpus alone, committed so that no installation and no test run trains it
    (a minute of both cores). Rebuilt with ``python -m insight train --out data/scenarios/shipped-model.joblib``
    after the corpus, taxonomy, dictionary or parameters change (a test says so when it is behind)."""
    return DATA / "shipped-model.joblib"


def _fingerprint(extra: list[tuple[str, str]]) -> str:
    h = hashlib.sha256()
    for name in ("corpus.txt", "taxonomy.csv", "userdict.txt"):
        h.update((DATA / name).read_bytes())
    h.update(json.dumps(TRAINING_PARAMS, sort_keys=True).encode())
    h.update(MODEL_FORMAT.encode())
    # Decoding is not in the artifact, but stored results depend on it: a change re-classifies.
    h.update(json.dumps([DOC_WEIGHT, MIN_SHARE, TURN_POWER]).encode())
    for text, code in sorted(extra):
        h.update(f"{code}\t{text}\n".encode())
    return h.hexdigest()[:12]


def _pipeline():
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import FeatureUnion, Pipeline

    p = TRAINING_PARAMS
    features = FeatureUnion([
        ("word", TfidfVectorizer(tokenizer=tokenize, token_pattern=None, lowercase=False, preprocessor=None,
                                 ngram_range=p["word_ngrams"], sublinear_tf=True)),
        ("char", TfidfVectorizer(analyzer="char_wb", preprocessor=normalise, ngram_range=p["char_ngrams"],
                                 sublinear_tf=True, min_df=2)),
    ])
    return Pipeline([("features", features),
                     ("clf", LogisticRegression(C=p["C"], max_iter=3000, class_weight="balanced"))])


def fit_pipeline(corrections: list[tuple[str, str]] = (), corpus: list[tuple[str, str]] | None = None,
                 seed: int | None = None):
    """The fitted pipeline and how many examples each bag member saw: the features learn their vocabulary
    and idf from the first augmentation; every member's logistic regression is fitted on its own
    augmentation (plus corrections, counted three times) and their coefficients are averaged (log-odds
    averaged, so classifying costs one classifier)."""
    from sklearn.base import clone

    p = TRAINING_PARAMS
    corpus = load_corpus() if corpus is None else corpus
    seed = p["seed"] if seed is None else seed
    extra = list(corrections) * 3

    def examples(member: int) -> tuple[list[str], list[str]]:
        texts, labels = zip(*(augment(corpus, p["augment"], seed=seed + member) + extra))
        return list(texts), list(labels)

    from joblib import Parallel, delayed

    texts, labels = examples(0)
    pipeline = _pipeline()
    features, clf = pipeline.named_steps["features"], pipeline.named_steps["clf"]
    members = [(features.fit_transform(texts), labels)]
    members += [(features.transform(t), y) for t, y in map(examples, range(1, p["bag"]))]
    # The members' fits are independent (each its own data, deterministic), so they run on every core:
    # the same coefficients as one after the other, in a fraction of the time. Every augmentation keeps
    # every utterance as written, so every member knows the same classes.
    fitted = Parallel(n_jobs=min(usable_cores(), len(members)), backend="loky")(
        delayed(clone(clf).fit)(x, y) for x, y in members)
    clf = fitted[0]
    clf.coef_ = np.mean([f.coef_ for f in fitted], axis=0)
    clf.intercept_ = np.mean([f.intercept_ for f in fitted], axis=0)
    pipeline.set_params(clf=clf)
    return pipeline, len(labels)


@dataclass
class Trigger:
    index: int
    text: str
    score: float
    tokens: list[tuple[str, float]] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"index": self.index, "text": self.text, "score": round(self.score, 4),
                "tokens": [{"token": t, "weight": round(w, 4)} for t, w in self.tokens]}


@dataclass
class ChatScenario:
    code: str
    confidence: float
    triggers: list[Trigger]

    def to_dict(self, chat_id=None) -> dict:
        tax = taxonomy()
        l1, l2, l3 = tax.levels(self.code)
        out = {"id": chat_id} if chat_id is not None else {}
        out.update({"scenario": self.code, "l1": l1, "l2": l2, "l3": l3, "confidence": round(self.confidence, 4),
                    "triggers": [t.to_dict() for t in self.triggers]})
        return out


def _normalised_tokens(normalised: str) -> list[str]:
    return list(_tokens(normalised))


def _split_tfidf(vec):
    """A fitted TfidfVectorizer as its two public halves: a CountVectorizer with the same analysis
    and vocabulary, and a TfidfTransformer with the same weighting and idf, so that counts can be
    summed over a chat's turns before weighting (tests check the halves equal the whole).

    The counter reads text already normalised (decoding normalises each distinct sentence once to
    find repeats): its preprocessing is the identity and the word tokenizer skips normalising."""
    from sklearn.feature_extraction.text import CountVectorizer, TfidfTransformer

    word = vec.tokenizer is tokenize
    if not word and (vec.analyzer != "char_wb" or vec.preprocessor is not normalise):
        raise UsageError("场景模型的特征与本版本不符，请重新训练")
    counter = CountVectorizer(analyzer="word" if word else "char_wb", tokenizer=_normalised_tokens if word else None,
                              token_pattern=None, preprocessor=str, lowercase=False, ngram_range=vec.ngram_range,
                              vocabulary=vec.vocabulary_, binary=vec.binary, dtype=vec.dtype)
    weighting = TfidfTransformer(norm=vec.norm, use_idf=vec.use_idf, smooth_idf=vec.smooth_idf,
                                 sublinear_tf=vec.sublinear_tf)
    if vec.use_idf:
        weighting.idf_ = vec.idf_
    else:  # nothing to learn: fitting on one empty row only records the vocabulary size
        weighting.fit(sparse.csr_matrix((1, len(vec.vocabulary_))))
    return counter, weighting


class ScenarioModel:
    """A trained pipeline plus what session decoding needs. Load with ``load_model()``."""

    def __init__(self, pipeline, version: str, trained_at: str, n_examples: int):
        self.pipeline = pipeline
        self.version = version
        self.trained_at = trained_at
        self.n_examples = n_examples
        # what a user reads: when it was trained, on how much (the version is a hash, for caches)
        self.label = f"{trained_at[:16]} 训练（{n_examples:,} 条样本）"
        self.classes = list(pipeline.classes_)
        tax = taxonomy()
        self._chit = self.classes.index(CHITCHAT)
        self._codes = [c for c in self.classes if c != CHITCHAT]
        self._code_idx = np.array([self.classes.index(c) for c in self._codes])
        missing = set(tax.codes) - set(self._codes)
        if missing:
            raise UsageError(f"模型缺少场景 {sorted(missing)}，请重新训练")
        # Group matrices for hierarchical decoding: codes × level-1 keys, codes × level-2 keys.
        self._groups = {}
        for level in (1, 2):
            keys = sorted({tax.prefix(c, level) for c in self._codes})
            member = np.zeros((len(self._codes), len(keys)))
            for i, c in enumerate(self._codes):
                member[i, keys.index(tax.prefix(c, level))] = 1.0
            self._groups[level] = member
        feats = pipeline.named_steps["features"]
        self._counting = [_split_tfidf(vec) for _, vec in feats.transformer_list]
        self._feature_names = np.concatenate([
            np.array(feats.transformer_list[0][1].get_feature_names_out(), dtype=object),
            np.array(["·" + f for f in feats.transformer_list[1][1].get_feature_names_out()], dtype=object),
        ])

    # -- turns ---------------------------------------------------------------------------------
    def turn_proba(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, len(self.classes)))
        return self.pipeline.predict_proba(texts)

    def _turn_and_chat_proba(self, texts: list[str], owner: list[int], n_chats: int):
        """Probabilities per buyer turn and per chat (all its buyer text as one document).

        A chat's term counts are the sum of its turns' counts, so the document is never tokenised
        again: counts once, then tf-idf weighting for both (tokenising is most of the cost)."""

        clf = self.pipeline.named_steps["clf"]
        if not texts:
            empty = np.zeros((0, len(self.classes)))
            return empty, np.zeros((n_chats, len(self.classes))), None, None
        summed = sparse.csr_matrix((np.ones(len(owner)), (owner, np.arange(len(owner)))), shape=(n_chats, len(owner)))
        # Chats repeat themselves (好的, 在吗, order numbers, quick replies): count each distinct
        # sentence once and expand.
        first: dict[str, int] = {}
        inverse = np.array([first.setdefault(normalise(t), len(first)) for t in texts])
        distinct = list(first)
        turn_parts, chat_parts = [], []
        for counter, weighting in self._counting:
            # Raw counts per distinct sentence (normalise is idempotent, so normalised text is fine);
            # a chat's counts are its turns' counts summed, then weighted like a document.
            counts = counter.transform(distinct)[inverse]
            turn_parts.append(weighting.transform(counts))
            chat_parts.append(weighting.transform(summed @ counts))
        turn_x, chat_x = sparse.hstack(turn_parts).tocsr(), sparse.hstack(chat_parts).tocsr()
        return clf.predict_proba(turn_x), clf.predict_proba(chat_x), turn_x, chat_x

    def predict_turns(self, texts: list[str]) -> list[str]:
        return [self.classes[i] for i in self.turn_proba(texts).argmax(axis=1)]

    def explain(self, text: str, code: str, top: int = 4, row=None) -> list[tuple[str, float]]:
        """Words (and character n-grams, shown without the ·) that pushed ``text`` towards ``code``:
        tf-idf × coefficient, largest first. ``row``: (feature indices, tf-idf values) when computed."""
        if row is None:
            x = self.pipeline.named_steps["features"].transform([text]).tocsr()
            row = (x.indices, x.data)
        indices, values = row
        coef = self.pipeline.named_steps["clf"].coef_[self.classes.index(code)]
        contrib = values * coef[indices]
        order = np.argsort(-contrib)[: top * 4]
        candidates: dict[str, float] = {}
        for j in order:
            if contrib[j] <= 0:
                break
            name = self._feature_names[indices[j]]
            token = (name[1:] if name.startswith("·") else name).replace(" ", "")
            if token and not _PLACEHOLDER_TOKEN.search(token):
                candidates[token] = candidates.get(token, 0.0) + float(contrib[j])
        # Show words, not their pieces: a token inside a longer listed one adds its weight to it.
        out: list[tuple[str, float]] = []
        for token, weight in sorted(candidates.items(), key=lambda kv: (-len(kv[0]), -kv[1])):
            host = next((i for i, (t, _) in enumerate(out) if token in t), None)
            if host is None:
                out.append((token, weight))
            else:
                out[host] = (out[host][0], out[host][1] + weight)
        return sorted(out, key=lambda tw: -tw[1])[:top]

    # -- sessions -----------------------------------------------------------------------------------
    def classify_parallel(self, chats: list[list[dict]], workers: int | None = None, **kwargs) -> list[ChatScenario]:
        """``classify`` on ``workers`` processes (default: the cores this process may use), for large
        batches: tokenising is Python, so one process uses one core. The workers are forked with the
        model in memory (nothing reloaded); a small batch, one core or no fork runs in-process."""
        workers = workers or usable_cores()
        if workers <= 1 or len(chats) < PARALLEL_MIN_CHATS or "fork" not in mp.get_all_start_methods():
            return self.classify(chats, **kwargs)
        global _FORKED
        # the workers inherit the chats with the model: only index ranges go through the pipes
        _FORKED = (self, kwargs, chats)
        size = -(-len(chats) // workers)
        ranges = [(i, min(i + size, len(chats))) for i in range(0, len(chats), size)]
        # The parent's garbage is collected here, and what remains is frozen: a child's collector never
        # runs a destructor of something it inherited (a database connection's, which crashes in a fork).
        gc.collect()
        gc.freeze()
        try:
            with ProcessPoolExecutor(max_workers=len(ranges), mp_context=mp.get_context("fork")) as pool:
                parts = list(pool.map(_classify_forked, ranges))
        finally:
            gc.unfreeze()
            _FORKED = None
        return [r for part in parts for r in part]

    def classify(self, chats: list[list[dict]], with_triggers: bool = True, max_triggers: int = 3,
                 explain: bool = True) -> list[ChatScenario]:
        """One main scenario per chat (list of {"role", "content"} messages). ``explain=False`` leaves
        the triggers' words out (a quarter of the time on long chats): the store keeps which turns
        triggered and how strongly, and a page explains the few chats it shows (``explain``)."""
        turns, rows_of, proba, doc_proba, turn_x, _ = self._read(chats)
        return [self._decide(rows_of(ci), proba, doc_proba[ci], turns, turn_x, with_triggers, max_triggers, explain)
                for ci in range(len(chats))]

    def chat_evidence(self, chats: list[list[dict]]) -> tuple[np.ndarray, sparse.csr_matrix]:
        """Per chat, each scenario's share of the evidence the decision weighs (``codes`` order; a row of
        zeros when there is nothing to go on: no buyer text, or greetings only), and the chat's buyer text
        as features scaled to unit length (the dot product of two rows says how alike two chats read)."""
        turns, rows_of, proba, doc_proba, _, chat_x = self._read(chats)
        shares = np.zeros((len(chats), len(self._codes)))
        for ci in range(len(chats)):
            found = self._evidence(rows_of(ci), proba, doc_proba[ci])
            if found is not None:
                shares[ci] = found[0] / found[0].sum()
        if chat_x is None:
            return shares, sparse.csr_matrix((len(chats), len(self._feature_names)))
        norms = np.sqrt(np.asarray(chat_x.multiply(chat_x).sum(axis=1)).ravel())
        return shares, sparse.diags(1.0 / np.where(norms > 0, norms, 1.0)) @ chat_x

    @property
    def codes(self) -> list[str]:
        """The scenario codes, in the order of ``chat_evidence``'s columns."""
        return list(self._codes)

    def _read(self, chats):
        """The chats' buyer turns ((message index, text)), a function from chat to its rows there, and the
        probabilities and features of turns and chats."""
        turns, owner = [], []
        for ci, messages in enumerate(chats):
            for mi, msg in enumerate(messages):
                text = (msg.get("content") or "").strip()
                if msg.get("role") == "buyer" and text:
                    turns.append((mi, text))
                    owner.append(ci)
        proba, doc_proba, turn_x, chat_x = self._turn_and_chat_proba([t for _, t in turns], owner, len(chats))
        starts = np.searchsorted(np.array(owner, dtype=int), np.arange(len(chats) + 1))  # grouped by chat, in order
        return turns, lambda ci: np.arange(starts[ci], starts[ci + 1]), proba, doc_proba, turn_x, chat_x

    def _evidence(self, rows, proba, doc):
        """(score per code, the turns' code probabilities, their chit-chat probability); None when the chat
        has nothing to go on (no buyer turn, or greetings and order numbers only)."""
        if len(rows) == 0:
            return None
        p = proba[rows][:, self._code_idx]  # turn × code, chit-chat left out
        chit = proba[rows, self._chit]
        if (chit >= p.max(axis=1)).all() and doc[self._chit] >= 0.5:
            return None
        # Evidence: the whole conversation's buyer text read as one document (words add up before
        # the classifier decides), plus each turn's probabilities summed and normalised.
        turn_score = (p ** TURN_POWER).sum(axis=0)
        return DOC_WEIGHT * doc[self._code_idx] + turn_score / max(float(turn_score.sum()), 1e-9), p, chit

    def _code_of(self, score: np.ndarray) -> tuple[str, float]:
        """The decision on a chat's evidence (any scale): level 1, then level 2 inside it, then level 3 inside
        that; 其他 when the chosen code's share is below MIN_SHARE. (code, its share)."""
        allowed = np.ones(len(self._codes), dtype=bool)
        for level in (1, 2):
            member = self._groups[level]
            allowed &= member[:, int(np.argmax((score * allowed) @ member))] > 0
        k = int(np.argmax(np.where(allowed, score, -1.0)))
        share = float(score[k] / score.sum())
        return (self._codes[k] if share >= MIN_SHARE else OTHER), share

    def decided_codes(self, shares: np.ndarray) -> list[str]:
        """What ``classify`` decides for chats, from their ``chat_evidence`` shares (a row of zeros: 其他)."""
        return [self._code_of(row)[0] if row.sum() > 0 else OTHER for row in shares]

    def _decide(self, rows, proba, doc, turns, turn_x, with_triggers, max_triggers, explain=True) -> ChatScenario:
        found = self._evidence(rows, proba, doc)
        if found is None:
            return ChatScenario(OTHER, 0.0, [])
        score, p, chit = found
        code, share = self._code_of(score)
        k = self._codes.index(code)
        triggers = []
        if with_triggers:
            per_turn = p[:, k] * (1.0 - chit)
            for j in np.argsort(-per_turn)[:max_triggers]:
                if per_turn[j] < 0.05:
                    continue
                mi, text = turns[rows[j]]
                r = rows[j]
                a, b = turn_x.indptr[r], turn_x.indptr[r + 1]
                row = (turn_x.indices[a:b], turn_x.data[a:b])
                words = self.explain(text, code, row=row) if explain else []
                triggers.append(Trigger(mi, text, float(per_turn[j]), words))
            triggers.sort(key=lambda t: t.index)
        return ChatScenario(code, share, triggers)


def usable_cores() -> int:
    """The cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


# Below this many chats a batch is classified in-process: forking costs more than it saves.
PARALLEL_MIN_CHATS = 1000
_FORKED = None  # (model, classify kwargs, chats) for the forked workers of ``classify_parallel``


def _classify_forked(span: tuple[int, int]) -> list[ChatScenario]:
    model, kwargs, chats = _FORKED
    return model.classify(chats[span[0]:span[1]], **kwargs)


def train(corrections: list[tuple[str, str]] = (), out: Path | None = None) -> ScenarioModel:
    """Fit on the corpus (augmented, fixed seed) plus corrected chats' buyer turns; save the artifact."""
    import joblib

    extra = list(corrections)
    path = Path(out or model_path())
    if not extra and path.resolve() != shipped_model_path().resolve() and _install_shipped(path, None, wait=False):
        return load_model(path, train_if_missing=False)  # what training on the corpus alone gives, already fitted
    pipeline, n_examples = fit_pipeline(extra)
    model = ScenarioModel(pipeline, _fingerprint(extra), time.strftime("%Y-%m-%d %H:%M:%S"), n_examples)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Written aside and moved in: a reader (another process, a test worker) never sees half a file.
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    joblib.dump({"pipeline": pipeline, "version": model.version, "trained_at": model.trained_at,
                 "n_examples": model.n_examples, "corrections": len(extra)}, partial, compress=3)
    os.replace(partial, path)
    return model


# What a model file saved by another layout or version of this code raises when loaded.
_UNREADABLE = (AttributeError, ImportError, EOFError, KeyError, pickle.UnpicklingError)


def shipped_version() -> str | None:
    """The shipped model's version, None when it is missing or unreadable."""
    path = shipped_model_path()
    try:
        return _version_of(str(path), path.stat().st_mtime_ns)
    except OSError:
        return None


@lru_cache(maxsize=4)
def _version_of(path: str, mtime_ns: int) -> str | None:
    import joblib

    try:
        return joblib.load(path).get("version")
    except (OSError, *_UNREADABLE):
        return None


def _install_shipped(path: Path, seen_mtime: float | None, wait: bool = True) -> bool:
    """Put the shipped model at ``path`` when it is current (what training on the corpus alone gives); False
    when it is not, and training is left to the caller. ``wait``: unless another process replaced the file
    since it was seen (``seen_mtime``), then that one stands."""
    if shipped_version() != _fingerprint([]):
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    with _training_lock(path) if wait else contextlib.nullcontext():
        if not (wait and path.exists() and path.stat().st_mtime != seen_mtime):
            partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
            shutil.copyfile(shipped_model_path(), partial)
            os.replace(partial, path)
    return True


@contextlib.contextmanager
def _training_lock(path: Path):
    """One process trains a missing or stale model; the others wait for it, then load what it saved."""
    import fcntl

    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(f".{path.name}.lock"), "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


_LOADED: dict = {}


def load_model(path: Path | None = None, train_if_missing: bool = True) -> ScenarioModel:
    """The saved model (loaded once per process). In place of a missing, unreadable or outdated one (the
    corpus, taxonomy, dictionary or parameters changed since it was saved): the shipped model when it is
    current, else one trained now (``train_if_missing``) or a UsageError saying how to train it."""
    import joblib

    path = Path(path or model_path())
    key = (str(path), path.stat().st_mtime if path.exists() else None)
    if key in _LOADED:
        return _LOADED[key]
    unreadable = None
    if path.exists():
        try:
            blob = joblib.load(path)
        except _UNREADABLE as exc:
            blob, unreadable = None, exc  # saved by another layout or version of this code
        if blob is not None:
            model = ScenarioModel(blob["pipeline"], blob["version"], blob["trained_at"], blob["n_examples"])
            stale = model.version != _fingerprint([]) and path == model_path() and not blob.get("corrections")
            if not stale or (not train_if_missing and shipped_version() != _fingerprint([])):
                _LOADED[key] = model
                return model
    if path == model_path() and _install_shipped(path, key[1]):
        return load_model(path, train_if_missing=False)
    if not train_if_missing:
        if unreadable is not None:
            raise UsageError(f"场景模型 {path} 由旧版本保存，无法读取（{type(unreadable).__name__}），"
                             "请运行 python -m insight train") from None
        raise UsageError(f"没有找到场景模型 {path}，请先运行 python -m insight train")
    with _training_lock(path):
        if path.exists() and path.stat().st_mtime != key[1]:  # another process trained it meanwhile
            return load_model(path, train_if_missing=False)
        model = train(out=path)
    _LOADED[(str(path), path.stat().st_mtime)] = model
    return model


# -- evaluation ---------------------------------------------------------------------------------------
def dev_half(dialogue_id: str) -> str:
    """The tuning protocol's half of a dev dialogue, fixed by a hash of its id: 'decision' (the only
    half a change may be judged on) or 'untouched' (read once a change is kept; its figures are reported)."""
    digest = hashlib.sha256(f"insight-protocol:{dialogue_id}".encode()).digest()
    return "decision" if digest[0] % 2 == 0 else "untouched"


def evaluate_dialogues(model: ScenarioModel, dialogues: list[dict]) -> dict:
    """Dialogue-level accuracy and macro-F1 at levels 1–3, and the most frequent confusions."""
    from sklearn.metrics import accuracy_score, f1_score

    tax = taxonomy()
    t0 = time.perf_counter()
    predicted = [r.code for r in model.classify([d["messages"] for d in dialogues], with_triggers=False)]
    seconds = time.perf_counter() - t0
    truth = [d["scenario"] for d in dialogues]
    out = {"n": len(dialogues), "seconds": seconds, "levels": {}}
    for level in (1, 2, 3):
        y = [tax.prefix(c, level) for c in truth]
        p = [tax.prefix(c, level) for c in predicted]
        out["levels"][level] = {"accuracy": accuracy_score(y, p),
                                "macro_f1": f1_score(y, p, average="macro", zero_division=0)}
    pairs = Counter((t, p) for t, p in zip(truth, predicted) if t != p)
    out["confusions"] = [{"true": t, "predicted": p, "n": n} for (t, p), n in pairs.most_common(15)]
    return out
