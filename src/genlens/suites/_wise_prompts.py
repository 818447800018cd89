"""genlens's own wording of the WISE judge rubrics (legacy 0–2 ×3, and Verified binary).

Written for this project: the criteria, scales and output lines are the protocol's facts; the
prose is ours. The official texts can be fetched (``genlens data fetch wise``) and chosen with
``--suite-arg prompt=official`` for exact parity.
"""

from __future__ import annotations

LEGACY_SYSTEM = (
    "You grade AI-generated images for a knowledge-grounded text-to-image benchmark. "
    "Follow the rubric exactly and answer only in the requested format."
)

LEGACY_USER = """Grade the attached image, which a text-to-image model produced from the PROMPT below. \
The EXPLANATION says what a correct image has to show; use it to decide whether the model understood the prompt.

PROMPT: {Prompt}
EXPLANATION: {Explanation}

Give three integer grades from 0 to 2.

Consistency: does the image show what the prompt asks for, as the explanation describes it?
  0 = the key content is missing, wrong, or contradicts the prompt.
  1 = some of the required content is right, but parts are missing, inaccurate or off-target.
  2 = everything the prompt asks for is present and correct, down to the details.

Realism: could this be a real photograph (or a faithful rendering of a real scene)?
  0 = physically impossible or obviously synthetic.
  1 = believable overall, with visible flaws in physics, materials, anatomy or lighting.
  2 = indistinguishable from a real photograph; nothing gives away that it was generated.

Aesthetic Quality: how good is it as a picture?
  0 = poorly composed or unpleasant to look at.
  1 = competent composition and colour, but ordinary.
  2 = outstanding composition, colour and style, at the level of a masterpiece.

Grade hard. A 2 is for exceptional images only; when you hesitate between two grades, give the lower one.

Answer with exactly these three lines and nothing else:
Consistency: <0, 1 or 2>
Realism: <0, 1 or 2>
Aesthetic Quality: <0, 1 or 2>
"""

VERIFIED_SYSTEM = (
    "You check AI-generated images for a knowledge-grounded text-to-image benchmark. "
    "Follow the instructions exactly and answer only in the requested format."
)

VERIFIED_USER = """The attached image was generated from the PROMPT below. Many prompts describe their subject \
indirectly, so getting them right takes cultural, scientific, spatial or temporal knowledge; the EXPLANATION \
states what a correct image must show.

PROMPT: {Prompt}
EXPLANATION: {Explanation}

Decide whether the image gets it right. Give 1 only if both hold:
- the image shows what the prompt means, as the explanation describes it (the right subject, state, place, \
time or outcome), and
- the image is intact enough to judge: no collapsed or garbled main subject, no broken structure, no artefacts \
that hide what it shows.

Otherwise give 0. Beauty and photorealism do not matter here: a plain or stylised image that shows the right \
thing gets 1. If you have serious doubt, give 0.

Answer with exactly one line and nothing else:
Score: <0 or 1>
"""
