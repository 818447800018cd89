"""genlens's own wording of the TIIF-Bench question prompt (the answer contract is upstream's).

The contract the official readers rely on: one answer per line, each line starting with "yes" or
"no", in the order of the questions, as many answers as questions. The official wordings (three,
upstream picks one at random per request) are fetched by ``genlens data fetch tiif``.
"""

SYSTEM = "You review generated images carefully and answer questions about what they show."

USER = """Look closely at the image and answer each of the yes/no questions below about what it shows.

Questions:
{Questions}

How to answer:
- Give exactly one answer per question, in the same order as the questions.
- Put every answer on its own line, beginning with the word "yes" or "no", then a short reason.
- Do not number the answers and write nothing besides them.
- The number of answer lines must equal the number of questions."""
