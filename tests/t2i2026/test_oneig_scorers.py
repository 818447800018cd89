"""The OneIG judge scorers with a recording fake judge: what is asked, with which token budget, stored how."""

from __future__ import annotations

import asyncio
import io

from PIL import Image

from genlens.judges.base import JudgeReply
from genlens.suites._oneig_scorers import OCR_INSTRUCTION, AlignmentScorer, TextScorer
from genlens.types import GenerationRecord, Item, ScoreInput


class RecordingJudge:
    """Answers from a function of the question text; records (budget, text, image size) per call."""

    scheme = "local"
    spec = "local:fake"
    version = "fake@1"
    concurrency = 1

    def __init__(self, answer, params=None):
        self.answer = answer
        self.params = params or {}
        self.max_new_tokens = 512
        self.calls: list[tuple[int, str, tuple[int, int]]] = []

    def settings(self):
        return {"decoding": "greedy", "max_tokens": getattr(self, "max_tokens", None)}

    async def ask_batch(self, requests):
        out = []
        for r in requests:
            size = Image.open(io.BytesIO(r.images[0])).size
            self.calls.append((getattr(self, "max_new_tokens", getattr(self, "max_tokens", None)), r.text, size))
            out.append(JudgeReply(self.answer(r.text), self.version, "ok"))
        return out

    async def aclose(self):
        pass


def score_input(tmp_path, item: Item, image: Image.Image) -> ScoreInput:
    (tmp_path / "images").mkdir(exist_ok=True)
    image.save(tmp_path / "images" / f"{item.id}.png")
    gen = GenerationRecord("fp-" + item.id, item.id, 0, 0, "ok", [f"images/{item.id}.png"])
    return ScoreInput(item, gen, tmp_path)


def test_alignment_asks_every_question_per_tile_and_stores_raw_answers(tmp_path):
    item = Item("human_000", "a man", "human", meta={"dimensions": ["alignment"], "questions": {"2": "Is he old", "1": "Is there a man"},
                                                        "dependencies": {"1": [0], "2": [1]}})
    other = Item("text_000", "a sign", "text", meta={"dimensions": ["text"]})
    grid = Image.new("RGB", (40, 20), (200, 10, 10))
    grid.paste((0, 0, 0), (20, 0, 40, 20))  # right tile black: dropped
    judge = RecordingJudge(lambda text: "Yes" if "man" in text else "No")
    scorer = AlignmentScorer(judge, (2, 1))
    results = asyncio.run(scorer.score_batch([score_input(tmp_path, item, grid), score_input(tmp_path, other, grid)]))
    # one tile (20x20) x two questions, in question-number order, upstream's wording, 128 new tokens
    assert judge.calls == [(128, "Is there a man. Please answer 'Yes' or 'No' only.", (20, 20)),
                           (128, "Is he old. Please answer 'Yes' or 'No' only.", (20, 20))]
    assert results[0] == ("ok", {"tiles": [{"1": "Yes", "2": "No"}], "black_tiles": 1, "model": "fake@1"})
    assert results[1] == ("skipped", {"reason": "alignment does not score this prompt"})


def test_text_budget_is_256_only_for_truths_over_60_words_unless_the_user_set_one(tmp_path):
    short = Item("text_000", "x", "text", meta={"dimensions": ["text"], "text_truth": "['OPEN']"})
    long = Item("text_001", "y", "text", meta={"dimensions": ["text"], "text_truth": " ".join(["word"] * 61)})
    image = Image.new("RGB", (16, 16), (255, 255, 255))
    judge = RecordingJudge(lambda text: "OPEN")
    results = asyncio.run(TextScorer(judge, (1, 1)).score_batch([score_input(tmp_path, short, image), score_input(tmp_path, long, image)]))
    assert [(budget, text) for budget, text, _size in judge.calls] == [(128, OCR_INSTRUCTION), (256, OCR_INSTRUCTION)]
    assert [r[1]["max_new_tokens"] for r in results] == [128, 256] and results[0][1]["tiles"] == [{"ocr": "OPEN"}]
    fixed = RecordingJudge(lambda text: "OPEN", params={"max_new_tokens": 7})
    asyncio.run(TextScorer(fixed, (1, 1)).score_batch([score_input(tmp_path, long, image)]))
    assert fixed.calls[0][0] == 7


def test_an_api_judge_gets_the_budget_as_max_tokens_one_batch_at_a_time(tmp_path):
    long = Item("text_001", "y", "text", meta={"dimensions": ["text"], "text_truth": " ".join(["word"] * 61)})
    judge = RecordingJudge(lambda text: "word")
    judge.scheme, judge.concurrency, judge.max_tokens = "openai", 8, 2000
    del judge.max_new_tokens
    seen = []
    original = judge.ask_batch

    async def ask_batch(requests):
        seen.append(judge.max_tokens)
        return await original(requests)

    judge.ask_batch = ask_batch
    scorer = TextScorer(judge, (1, 1))
    asyncio.run(scorer.score_batch([score_input(tmp_path, long, Image.new("RGB", (8, 8), (255, 255, 255)))]))
    assert seen == [256] and scorer.concurrency == 1 and "max_tokens" not in scorer.identity()["settings"]
