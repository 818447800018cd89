"""Filter pip's output for scripts/install: drop the two notices that are known and harmless here.

1. "Location … is ignored" lines from an unreachable extra index.
2. pip's "dependency conflicts" block when every conflict it lists is mediapipe's own metadata:
   mediapipe 0.10.21 declares numpy<2, jax, jaxlib, opencv-contrib-python, sentencepiece and
   sounddevice, none of which its bundled face/pose/selfie models need; genlens installs it
   --no-deps on purpose (README "mediapipe"). Any other conflict is printed unchanged.
"""

from __future__ import annotations

import sys

HEAD = "ERROR: pip's dependency resolver does not currently take into account"
OURS = "mediapipe 0.10.21 "

lines = sys.stdin.read().splitlines()
out: list[str] = []
i = 0
while i < len(lines):
    line = lines[i]
    if "is ignored: it is neither a file nor a directory" in line:
        i += 1
        continue
    if line.startswith(HEAD):
        block = []
        i += 1
        while i < len(lines) and (lines[i].startswith(OURS) or " requires " in lines[i] or " has requirement " in lines[i]
                                  or " which is incompatible" in lines[i]):
            block.append(lines[i])
            i += 1
        if any(not b.startswith(OURS) for b in block):
            out.extend([line, *block])
        continue
    out.append(line)
    i += 1
if out:
    print("\n".join(out))
