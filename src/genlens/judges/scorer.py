"""A generic scorer for judged suites: ask a judge, store its raw answer, parse it, count what fails.

Each score value holds the raw response, the template hash, the judge identity and the exact
model version it answered with, the parsed scores (or None), usage, cost and the request's
hashes. Status: ``ok`` (parsed), ``unparsed`` (an answer that could not be read, or a refusal:
final, counted by aggregation, never replaced by a guess) or ``error`` (no answer; asked again
on the next ``genlens score``). A shared cache makes a repeated question free, and
:meth:`JudgeScorer.rescore` re-parses stored answers with no call at all (``--rejudge``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from genlens.backends.base import public_params
from genlens.errors import SpecError
from genlens.imageio import atomic_write_text
from genlens.judges.base import Judge, JudgeReply, JudgeRequest, reject_judge_secrets
from genlens.judges.cache import JudgeCache, request_key
from genlens.judges.parsing import PARSER_VERSION
from genlens.judges.templates import Template
from genlens.redact import has_masked_userinfo
from genlens.scorers.base import Scorer
from genlens.suites.base import ScoreContext
from genlens.types import ScoreInput

BuildRequest = Callable[[ScoreInput, Template], JudgeRequest]
ParseReply = Callable[[str], "dict[str, int] | None"]


#: Attempts per image when the judge's answer cannot be read (WISE's protocol: up to 3).
PARSE_ATTEMPTS = 3


class JudgeScorer(Scorer):
    """Scores generations with a VLM judge; ``rescoring`` lets the engine re-parse on ``--rejudge``."""

    threaded = False
    rescoring = True

    def __init__(
        self, *, name: str, version: str, judge: Judge, template: Template, build: BuildRequest,
        parse: ParseReply, parser_id: str = "", cache: JudgeCache | None = None, use_cache: bool = True,
        batch_size: int | None = None, check_parse: ParseReply | None = None, check_parser_id: str = "",
    ):
        self.name = name
        self.version = version
        self.judge = judge
        self.template = template
        self.build = build
        self.parse = parse
        self.parser_id = f"{parser_id or name}/{PARSER_VERSION}"
        # The other parser (official beside genlens's, or the reverse): every answer is read by both and
        # the verdict says whether they agree, so results can count how much the choice of reader moves.
        self.check_parse = check_parse
        self.check_parser_id = check_parser_id
        self.use_cache = use_cache
        self._cache = cache
        local = judge.scheme == "local"
        self.batch_size = batch_size or (int(judge.params.get("batch_size", 8)) if local else 1)
        self.concurrency = 1 if local else judge.concurrency

    # -- identity: what makes two verdicts comparable (the exact version is stored per verdict) --
    def judge_key(self) -> dict[str, Any]:
        return {"spec": self.judge.spec, "settings": self.judge.settings()}

    def identity(self) -> dict[str, Any]:
        return {**self.judge_key(), "template": self.template.sha256, "template_name": self.template.name,
                "parser": self.parser_id}

    @property
    def cache(self) -> JudgeCache | None:
        if self.use_cache and self._cache is None:
            self._cache = JudgeCache()
        return self._cache if self.use_cache else None

    def load(self) -> None:
        """Load a local judge's weights before any item is asked, so a broken checkpoint is one setup
        error (exit 2) rather than one error per image. API judges have nothing to load."""
        loader = getattr(self.judge, "load", None)
        if callable(loader):
            loader()

    async def aclose(self) -> None:
        """Close the judge's clients at the end of the engine's event loop (they cannot outlive it)."""
        await self.judge.aclose()

    # -- scoring ---------------------------------------------------------------------------------
    def score_batch_sync(self, batch: list[ScoreInput]) -> list[tuple[str, dict[str, Any]]]:
        raise NotImplementedError("JudgeScorer is async: the engine awaits score_batch")

    async def score_batch(self, batch: list[ScoreInput]) -> list[tuple[str, dict[str, Any]]]:
        requests: list[JudgeRequest | None] = []
        results: list[tuple[str, dict[str, Any]] | None] = []
        for inp in batch:
            try:
                requests.append(self.build(inp, self.template))
                results.append(None)
            except OSError as exc:  # an image that vanished since generation: an error, retried next time
                requests.append(None)
                results.append(("error", {"scores": None, "reason": f"cannot read the image ({exc})", "reply_status": "error"}))
        live = [i for i, r in enumerate(requests) if r is not None]
        replies = await self._answers([requests[i] for i in live])  # type: ignore[misc]
        for index, reply in zip(live, replies, strict=True):
            results[index] = self.verdict(reply, requests[index])  # type: ignore[arg-type]
        return results  # type: ignore[return-value]

    async def _answers(self, requests: list[JudgeRequest]) -> list[JudgeReply]:
        """Cached answers where there are any; the rest asked of the judge (and cached when final)."""
        keys = [request_key(self.judge_key(), self.template.sha256, r) for r in requests]
        cache = self.cache
        replies: list[JudgeReply | None] = [cache.get(k) if cache else None for k in keys]
        missing = [i for i, reply in enumerate(replies) if reply is None]
        if missing:
            current = dict(zip(missing, await self.judge.ask_batch([requests[i] for i in missing]), strict=True))
            # As WISE's protocol: an answer that cannot be read is asked again, up to PARSE_ATTEMPTS in all;
            # the first readable one is kept and the unreadable ones are stored beside it.
            for _attempt in range(PARSE_ATTEMPTS - 1):
                again = [i for i, reply in current.items() if reply.status == "ok" and not self.readable(requests[i], reply)]
                if not again:
                    break
                for index, reply in zip(again, await self.judge.ask_batch([requests[i] for i in again]), strict=True):
                    reply.earlier = [*current[index].earlier, current[index].raw]
                    current[index] = reply
            for index, reply in current.items():
                replies[index] = reply
                if cache:
                    cache.put(keys[index], self.judge.spec, reply)
        return replies  # type: ignore[return-value]

    def readable(self, request: JudgeRequest, reply: JudgeReply) -> bool:
        """Whether an answer can be used as it is; otherwise it is asked again (up to PARSE_ATTEMPTS in all)
        before anything is cached. Suites with a further condition (TIIF: one answer per question) override it."""
        return self.parse(reply.raw) is not None

    def verdict(self, reply: JudgeReply, request: JudgeRequest) -> tuple[str, dict[str, Any]]:
        """The stored record of one answer: raw text, identities, hashes and the parsed scores."""
        value: dict[str, Any] = {
            "raw": reply.raw,
            "reply_status": reply.status,
            "model": reply.model,
            "judge": self.judge_key(),
            "template": self.template.sha256,
            "template_name": self.template.name,
            "parser": self.parser_id,
            "usage": reply.usage,
            "cost_usd": reply.cost_usd,
            "latency_s": reply.latency_s,
            "cached": reply.cached,
            "error": reply.error,
            "earlier_answers": reply.earlier,
            "request": {
                "text_sha256": hashlib.sha256(((request.system or "") + "\x00" + request.text).encode()).hexdigest(),
                "images_sha256": [hashlib.sha256(image).hexdigest() for image in request.images],
            },
        }
        return self._parsed(value)

    def _parsed(self, value: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        status = value["reply_status"]
        if status == "error":
            return "error", {**value, "scores": None, "reason": f"judge call failed: {value.get('error', '')}"}
        if status == "refused":
            return "unparsed", {**value, "scores": None, "reason": f"judge refused: {value.get('error') or value['raw']}"[:500]}
        scores = self.parse(value["raw"])
        if self.check_parse is not None:
            other = self.check_parse(value["raw"])
            value = {**value, "parse_check": {"parser": self.check_parser_id, "scores": other,
                                              "agree": same_scores(scores, other)}}
        if scores is None:
            return "unparsed", {**value, "scores": None, "reason": "judge answer could not be parsed"}
        return "ok", {**value, "scores": scores, "reason": ""}

    def rescore(self, value: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
        """Re-parse a stored answer (no call). None when it was asked of another judge or template."""
        same_judge = json.dumps(value.get("judge"), sort_keys=True) == json.dumps(self.judge_key(), sort_keys=True)
        if not same_judge or value.get("template") != self.template.sha256:
            return None
        if value.get("reply_status") not in ("ok", "refused"):
            return None
        return self._parsed({**value, "parser": self.parser_id})


def same_scores(first: dict[str, Any] | None, second: dict[str, Any] | None) -> bool:
    """Whether two parsers read the same scores (both unread counts as agreeing; 2 and 2.0 are the same)."""
    if first is None or second is None:
        return first is None and second is None
    if set(first) != set(second):
        return False
    return all(_as_floats(first[k]) == _as_floats(second[k]) for k in first)


def _as_floats(value: Any) -> Any:
    if isinstance(value, list):
        return [_as_floats(v) for v in value]
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else value


def parse_disagreements(records: Any) -> int:
    """How many stored verdicts carry a ``parse_check`` whose two parsers read the answer differently."""
    return sum(1 for r in records if r is not None and not ((r.value.get("parse_check") or {}).get("agree", True)))


# -- which judge scores a run -------------------------------------------------------------------
JUDGE_CHOICE_FILE = "judge.json"


@dataclass
class JudgeChoice:
    """The judge spec, prompt file and judge arguments a run is scored with."""

    spec: str
    prompt_file: Path | None
    params: dict[str, Any]


def read_judge_choice(run_dir: Path) -> dict[str, Any]:
    """What ``<run>/judge.json`` remembers ({} when absent or unreadable: the options then decide)."""
    path = run_dir / JUDGE_CHOICE_FILE
    if not path.is_file():
        return {}
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return {}
    if not isinstance(stored, dict):
        return {}
    kinds = {"judge": str, "judge_prompt": str, "judge_args": dict}  # a field of the wrong type is not remembered
    return {key: value for key, value in stored.items() if key not in kinds or isinstance(value, kinds[key])}


def judge_choice(ctx: ScoreContext, default_spec: str) -> JudgeChoice:
    """Options given now win; else what ``<run>/judge.json`` remembers; else the suite's default.

    Remembering means ``genlens score RUN`` (or ``--rejudge``) after ``genlens run … --judge X``
    keeps judging with X instead of silently switching to the default judge.
    """
    path = ctx.run_dir / JUDGE_CHOICE_FILE
    stored = read_judge_choice(ctx.run_dir)
    args = {k: v for k, v in ctx.scorer_args.items()}
    reject_judge_secrets(args)  # refused before judge.json is written, not after
    if ctx.judge:
        choice = JudgeChoice(ctx.judge, ctx.judge_prompt, args)
    else:
        prompt = ctx.judge_prompt or (Path(stored["judge_prompt"]) if stored.get("judge_prompt") else None)
        remembered = stored.get("judge_args") if isinstance(stored.get("judge_args"), dict) else {}
        choice = JudgeChoice(stored.get("judge") or default_spec, prompt, {**remembered, **args})
    for name, value in choice.params.items():
        if isinstance(value, str) and has_masked_userinfo(value):
            raise SpecError(
                f"{path} remembers judge argument {name} with its credentials masked ({value})",
                fix=f"give it again: --scorer-arg {name}=<url with user:password>",
            )
    record = {"judge": choice.spec, "judge_prompt": str(choice.prompt_file) if choice.prompt_file else None,
              "judge_args": public_params(choice.params)}
    if record != stored and ctx.run_dir.is_dir():
        try:
            atomic_write_text(path, json.dumps(record, indent=2) + "\n")
        except OSError:
            pass  # a read-only run dir can still be scored with explicit options
    return choice
