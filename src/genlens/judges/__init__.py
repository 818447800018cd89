"""VLM judges: API and local judges with stored, re-parsable verdicts (see :mod:`genlens.judges.base`)."""

from genlens.judges.base import Judge, JudgeReply, JudgeRequest, make_judge
from genlens.judges.parsing import parse_score_list, parse_scores

__all__ = ["Judge", "JudgeReply", "JudgeRequest", "make_judge", "parse_score_list", "parse_scores"]
