"""Judge prompt templates: a system text and a user text with ``{Field}`` placeholders, and their hash.

The hash (sha256 over the system text, a NUL byte and the user text) is stored with every
verdict, so results always say which wording produced them. Placeholders are replaced by plain
string substitution (``{Prompt}`` or ``{prompt}``), so braces elsewhere in a text are harmless.
A template file is plain UTF-8 text; optional section lines ``[system]`` and ``[user]`` split it,
otherwise the whole file is the user text and no system message is sent.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from genlens.errors import InputError

_SECTION = re.compile(r"^\[(system|user)\]\s*$", re.MULTILINE)


@dataclass(frozen=True)
class Template:
    """A named judge prompt. ``name`` says where it came from (genlens wording, official, a file)."""

    name: str
    system: str | None
    user: str

    @property
    def sha256(self) -> str:
        payload = (self.system or "") + "\x00" + self.user
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()

    def placeholders(self) -> set[str]:
        text = (self.system or "") + self.user
        return {m.lower() for m in re.findall(r"\{([A-Za-z_]+)\}", text)}

    def render(self, **fields: str) -> tuple[str | None, str]:
        """(system, user text) with ``{Name}`` / ``{name}`` replaced by ``fields[name]``."""
        system, user = self.system, self.user
        for key, value in fields.items():
            for spelling in {key, key.lower(), key.capitalize()}:
                user = user.replace("{" + spelling + "}", value)
                if system is not None:
                    system = system.replace("{" + spelling + "}", value)
        return system, user

    def describe(self) -> dict[str, str]:
        return {"name": self.name, "sha256": self.sha256}


def load_template_file(path: Path, *, required: tuple[str, ...] = ()) -> Template:
    """Read a ``--judge-prompt`` file; ``required`` placeholders must appear in it."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError("judge prompt file not found", path=path, fix="check the --judge-prompt path") from None
    except UnicodeDecodeError:
        raise InputError("judge prompt file is not UTF-8 text", path=path, fix="save it as UTF-8") from None
    parts = _SECTION.split(text)
    if len(parts) == 1:
        template = Template(name=f"file:{path.name}", system=None, user=text)
    else:
        sections = {parts[i]: parts[i + 1].strip("\n") for i in range(1, len(parts) - 1, 2)}
        if "user" not in sections:
            raise InputError("judge prompt file has a [system] section but no [user] section", path=path,
                             fix="add a line [user] followed by the user text")
        template = Template(name=f"file:{path.name}", system=sections.get("system") or None, user=sections["user"])
    missing = [name for name in required if name.lower() not in template.placeholders()]
    if missing:
        wanted = ", ".join("{" + m + "}" for m in missing)
        raise InputError(f"judge prompt file has no {wanted} placeholder", path=path,
                         fix=f"put {wanted} where the item's text belongs")
    return template
