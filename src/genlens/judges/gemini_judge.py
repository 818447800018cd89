"""``gemini:<model>`` — a Gemini judge through google-genai (key from GEMINI_API_KEY or GOOGLE_API_KEY).

Temperature 0 and a fixed seed; the images go as inline parts before the text; the SDK's own
retries are off so the shared call layer alone retries (honouring Retry-After). A blocked prompt
or a SAFETY-class finish is recorded as a refusal. ``base_url`` (judge argument or
``GEMINI_BASE_URL``) points it at another endpoint — a proxy, or the tests' local server.
"""

from __future__ import annotations

import os
from typing import Any

from genlens.errors import SpecError
from genlens.imageio import sniff_format
from genlens.judges.base import ApiJudge, JudgeReply, price_of
from genlens.judges.openai_judge import MIME

REFUSAL_FINISH = {"SAFETY", "PROHIBITED_CONTENT", "BLOCKLIST", "SPII", "IMAGE_SAFETY", "RECITATION"}
SETUP_ERRORS = {400: "the request was rejected", 401: "the API key was rejected", 403: "access was denied",
                404: "the model was not found"}
#: USD per million (input, output) tokens; override with price_in / price_out.
PRICES_PER_MTOK: dict[str, tuple[float, float]] = {
    "gemini-2.5-pro": (1.25, 10.0), "gemini-2.5-flash": (0.30, 2.50), "gemini-2.0-flash": (0.10, 0.40),
}


class GeminiJudge(ApiJudge):
    scheme = "gemini"
    base_url_env = "GEMINI_BASE_URL"

    def _new_client(self) -> Any:
        from google import genai
        from google.genai import types

        key = os.environ.get("GEMINI_API_KEY") or os.environ.get("GOOGLE_API_KEY")
        if not key:
            raise SpecError(f"judge {self.spec} needs GEMINI_API_KEY (or GOOGLE_API_KEY)", fix="export GEMINI_API_KEY=…")
        options = types.HttpOptions(base_url=self.base_url, retry_options=types.HttpRetryOptions(attempts=1),
                                    timeout=int(self.layer.policy.timeout_s * 1000))
        return genai.Client(api_key=key, http_options=options)

    async def _close_client(self, client: Any) -> None:
        await client.aio.aclose()

    def _contents(self, text: str, images: list[bytes]) -> list[Any]:
        from google.genai import types

        parts = [types.Part.from_bytes(data=data, mime_type=MIME.get(sniff_format(data), "image/png")) for data in images]
        return [*parts, text]

    async def ask(self, *, system: str | None, text: str, images: list[bytes]) -> JudgeReply:
        from google.genai import types

        client = self._client()
        config = types.GenerateContentConfig(system_instruction=system, temperature=self.temperature,
                                             max_output_tokens=self.max_tokens, seed=self.seed)
        contents = self._contents(text, images)
        outcome = await self._call(
            lambda: client.aio.models.generate_content(model=self.target, contents=contents, config=config),
            status=lambda exc: getattr(exc, "code", None), setup_errors=SETUP_ERRORS,
            fix="check GEMINI_API_KEY, the model name and base_url")
        return outcome if isinstance(outcome, JudgeReply) else self._reply(*outcome)

    def _reply(self, response: Any, latency_s: float) -> JudgeReply:
        model = getattr(response, "model_version", None) or self.target
        self.version = model
        meta = getattr(response, "usage_metadata", None)
        usage = {"prompt_tokens": int(getattr(meta, "prompt_token_count", 0) or 0),
                 "completion_tokens": int(getattr(meta, "candidates_token_count", 0) or 0)}
        cost = price_of(self.target, usage, self.params, PRICES_PER_MTOK)
        self.layer.stats.add_usage(usage["prompt_tokens"], usage["completion_tokens"], cost)
        feedback = getattr(response, "prompt_feedback", None)
        blocked = getattr(feedback, "block_reason", None)
        candidates = getattr(response, "candidates", None) or []
        finish = str(getattr(candidates[0], "finish_reason", "") or "").rsplit(".", 1)[-1] if candidates else ""
        if blocked or finish in REFUSAL_FINISH:
            self.layer.stats.refusals += 1
            reason = f"block_reason={str(blocked).rsplit('.', 1)[-1]}" if blocked else f"finish_reason={finish}"
            return JudgeReply("", model, "refused", usage, cost, latency_s, error=reason)
        parts = getattr(getattr(candidates[0], "content", None), "parts", None) or [] if candidates else []
        text = "".join(getattr(part, "text", None) or "" for part in parts)
        return JudgeReply(text, model, "ok", usage, cost, latency_s)
