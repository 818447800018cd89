"""``genlens data fetch``: download a suite's data from its pinned upstream commit, sha256-verified.

A manifest (``manifests/<name>.json``) lists files (url, sha256, where they go) and "extracts":
texts read out of an upstream script — e.g. the official judge prompt — with Python's ``ast``
(never executed) and verified by the sha256 of the extracted text. Nothing is written unless it
verifies; a file already present with the right hash is not downloaded again.
Data goes to ``$GENLENS_DATA_DIR/<dir>`` (default ``~/.cache/genlens/data/<dir>``) or ``--data-dir``.

"archives" are large upstream tar/zip files (datasets such as DIODE or ADE20K): streamed to a
temporary file while hashed, verified against the pinned sha256 (or, where upstream publishes
only an MD5, that MD5, recorded as such), then only the members matching the manifest's patterns
are extracted under ``into`` — never outside it. An archive with no pinned digest is refused.
A ``SOURCE.md`` with the origin and licence of every archive is written beside the data.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from genlens.errors import GenlensError, InputError, SpecError
from genlens.imageio import atomic_write

MANIFEST_DIR = Path(__file__).parent / "manifests"


@dataclass(frozen=True)
class ManifestFile:
    path: str
    url: str
    sha256: str
    #: Only where no sha256 could be pinned (the file was not retrievable when the manifest was written):
    #: git's blob id of the file at the pinned commit, from the commit's tree. The sha256 is then computed and shown.
    git_blob_sha1: str = ""


@dataclass(frozen=True)
class ManifestExtract:
    """Texts read from an upstream Python script: ``outputs[i]`` is the i-th message text of ``function``."""

    url: str
    function: str
    outputs: tuple[ManifestFile, ...]
    kind: str = "python-message-texts"


@dataclass(frozen=True)
class ManifestArchive:
    """A tar/zip to stream, verify and partly extract: members matching ``members`` (fnmatch, after
    dropping a leading ``./``) go under ``into``."""

    url: str
    into: str
    members: tuple[str, ...]
    sha256: str = ""
    md5: str = ""  # only where upstream publishes nothing stronger
    size: int | None = None
    license: str = ""
    note: str = ""


@dataclass
class Manifest:
    name: str
    suites: tuple[str, ...]
    dir: str
    source: str
    commit: str
    license: str
    files: list[ManifestFile] = field(default_factory=list)
    extracts: list[ManifestExtract] = field(default_factory=list)
    archives: list[ManifestArchive] = field(default_factory=list)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Manifest:
        return cls(
            name=data["name"], suites=tuple(data.get("suites") or [data["name"]]), dir=data.get("dir", data["name"]),
            source=data.get("source", ""), commit=data.get("commit", ""), license=data.get("license", ""),
            files=[ManifestFile(f["path"], f["url"], f.get("sha256", ""), f.get("git_blob_sha1", "")) for f in data.get("files", [])],
            extracts=[
                ManifestExtract(e["url"], e["function"], tuple(ManifestFile(o["path"], e["url"], o["sha256"]) for o in e["outputs"]),
                                e.get("kind", "python-message-texts"))
                for e in data.get("extracts", [])
            ],
            archives=[ManifestArchive(a["url"], a["into"], tuple(a.get("members") or ["*"]), a.get("sha256") or "",
                                      a.get("md5") or "", a.get("size"), a.get("license", ""), a.get("note", ""))
                      for a in data.get("archives", [])],
        )


@dataclass
class FetchResult:
    path: str
    status: str  # downloaded | present | extracted
    sha256: str


def manifests() -> dict[str, Manifest]:
    """Every shipped manifest, by each suite name it serves."""
    out: dict[str, Manifest] = {}
    for path in sorted(MANIFEST_DIR.glob("*.json")):
        manifest = Manifest.from_json(json.loads(path.read_text(encoding="utf-8")))
        for suite in manifest.suites:
            out[suite] = manifest
    return out


def load_manifest(suite: str) -> Manifest:
    known = manifests()
    if suite not in known:
        raise SpecError(f"suite {suite!r} has no data to fetch",
                        fix=f"fetchable suites: {', '.join(sorted(known)) or 'none'}")
    return known[suite]


def data_root() -> Path:
    """``$GENLENS_DATA_DIR``, else ``<user cache dir>/genlens/data``."""
    if os.environ.get("GENLENS_DATA_DIR"):
        return Path(os.environ["GENLENS_DATA_DIR"]).expanduser()
    from genlens.judges.cache import cache_dir

    return cache_dir() / "data"


def suite_data_dir(suite: str) -> Path:
    """Where ``genlens data fetch SUITE`` puts the suite's data by default."""
    return data_root() / load_manifest(suite).dir


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def download(url: str, client: Any) -> bytes:
    try:
        response = client.get(url)
    except Exception as exc:
        raise GenlensError(f"cannot download {url} ({type(exc).__name__}: {exc})",
                           fix="check the network or proxy, then run the same command again (verified files are kept)") from None
    if response.status_code != 200:
        raise GenlensError(f"cannot download {url} (HTTP {response.status_code})",
                           fix="check the network or proxy, then run the same command again (verified files are kept)")
    return response.content


def _verified(data: bytes, expected: str, what: str, url: str) -> bytes:
    actual = sha256_of(data)
    if actual != expected:
        raise InputError(
            f"sha256 mismatch for {what} from {url}: got {actual[:16]}…, expected {expected[:16]}…; nothing was written",
            fix="the download was corrupted or upstream changed: run again, or report it if it persists",
        )
    return data


def _present(path: Path, expected: str) -> bool:
    return path.is_file() and sha256_of(path.read_bytes()) == expected


def fetch(manifest: Manifest, dest: Path, *, force: bool = False, client: Any = None) -> list[FetchResult]:
    """Download and verify every file of ``manifest`` into ``dest``; return what happened to each."""
    import httpx

    own_client = client is None
    client = client or httpx.Client(follow_redirects=True, timeout=60.0)
    results: list[FetchResult] = []
    try:
        for entry in manifest.files:
            target = dest / entry.path
            if not entry.sha256:
                results.append(_fetch_by_git_blob(entry, target, client, force=force))
                continue
            if not force and _present(target, entry.sha256):
                results.append(FetchResult(entry.path, "present", entry.sha256))
                continue
            atomic_write(target, _verified(download(entry.url, client), entry.sha256, entry.path, entry.url))
            results.append(FetchResult(entry.path, "downloaded", entry.sha256))
        for extract in manifest.extracts:
            if not force and all(_present(dest / o.path, o.sha256) for o in extract.outputs):
                results.extend(FetchResult(o.path, "present", o.sha256) for o in extract.outputs)
                continue
            source = download(extract.url, client)
            if extract.kind == "python-constants":  # module-level string constants, named in `function` (comma-separated)
                texts = module_constants(source, extract.function.split(","), origin=extract.url)
            else:
                texts = message_texts(source, extract.function, origin=extract.url)
            if len(texts) < len(extract.outputs):
                raise InputError(f"{extract.url} has {len(texts)} message texts in {extract.function}(), "
                                 f"expected {len(extract.outputs)}", fix="upstream changed: report it")
            for output, text in zip(extract.outputs, texts, strict=False):
                data = _verified(text.encode("utf-8"), output.sha256, output.path, extract.url)
                atomic_write(dest / output.path, data)
                results.append(FetchResult(output.path, "extracted", output.sha256))
        for archive in manifest.archives:
            if not archive.sha256 and not archive.md5:
                results.append(FetchResult(archive.into, "skipped: no pinned digest (download by hand, --data-dir)", ""))
                continue
            results.append(fetch_archive(archive, dest, client, force=force))
        if manifest.archives and all(r.status.startswith("skipped") for r in results):
            raise InputError(f"none of {manifest.name}'s sources has a pinned digest in this genlens, so nothing is downloaded",
                             fix="download them yourself (urls in docs/vision.md), extract them in their upstream layout and pass --data-dir")
        if manifest.archives:
            atomic_write((dest / "SOURCE.md"), source_text(manifest).encode("utf-8"))
    finally:
        if own_client:
            client.close()
    return results


def git_blob_sha1(data: bytes) -> str:
    """git's object id of a file's bytes (``git hash-object``): sha1 of ``blob <size>\\0`` + the bytes."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def _fetch_by_git_blob(entry: ManifestFile, target: Path, client: Any, *, force: bool) -> FetchResult:
    """A file pinned by its git blob id at the pinned commit (no sha256 in the manifest); refused when neither is set."""
    if not entry.git_blob_sha1:
        raise SpecError(f"manifest entry {entry.path} pins no digest", fix="add its sha256 to the manifest")
    if not force and target.is_file() and git_blob_sha1(target.read_bytes()) == entry.git_blob_sha1:
        return FetchResult(entry.path, "present", sha256_of(target.read_bytes()))
    data = download(entry.url, client)
    actual = git_blob_sha1(data)
    if actual != entry.git_blob_sha1:
        raise InputError(f"git blob id mismatch for {entry.path} from {entry.url}: got {actual[:12]}…, expected "
                         f"{entry.git_blob_sha1[:12]}…; nothing was written",
                         fix="the download was corrupted or upstream changed: run again, or report it if it persists")
    atomic_write(target, data)
    return FetchResult(entry.path, "downloaded", sha256_of(data))


# -- archives ----------------------------------------------------------------------------------------------
ARCHIVE_MARK = ".genlens-archive.json"


def source_text(manifest: Manifest) -> str:
    lines = [f"# {manifest.name}: where this data comes from", "", f"Fetched by `genlens data fetch {manifest.suites[0]}`. "
             "Not redistributed by genlens; each source's terms apply.", ""]
    for archive in manifest.archives:
        digest = f"sha256 {archive.sha256}" if archive.sha256 else f"md5 {archive.md5} (the digest upstream publishes)"
        lines += [f"## {archive.into}", "", f"- url: {archive.url}", f"- verified: {digest}",
                  f"- extracted: {', '.join(archive.members)}", f"- licence: {archive.license or manifest.license}"]
        if archive.note:
            lines.append(f"- note: {archive.note}")
        lines.append("")
    return "\n".join(lines)


def _stream_to(url: str, client: Any, target: Path) -> tuple[str, str, int]:
    """Download ``url`` into ``target`` in chunks; (sha256, md5, bytes)."""
    sha, md5, size = hashlib.sha256(), hashlib.md5(usedforsecurity=False), 0
    try:
        with client.stream("GET", url) as response:
            if response.status_code != 200:
                raise GenlensError(f"cannot download {url} (HTTP {response.status_code})",
                                   fix="check the network or proxy, then run the same command again")
            with open(target, "wb") as handle:
                for chunk in response.iter_bytes(1 << 20):
                    sha.update(chunk)
                    md5.update(chunk)
                    size += len(chunk)
                    handle.write(chunk)
    except GenlensError:
        raise
    except Exception as exc:
        raise GenlensError(f"cannot download {url} ({type(exc).__name__}: {exc})",
                           fix="check the network or proxy, then run the same command again (verified data is kept)") from None
    return sha.hexdigest(), md5.hexdigest(), size


def _safe_member(name: str, patterns: tuple[str, ...]) -> str | None:
    """The member's path relative to ``into`` when it matches and stays inside, else None."""
    import fnmatch
    from pathlib import PurePosixPath

    clean = name.removeprefix("./")
    path = PurePosixPath(clean)
    if not clean or path.is_absolute() or ".." in path.parts:
        return None
    return clean if any(fnmatch.fnmatchcase(clean, p) for p in patterns) else None


def extract_members(archive_path: Path, into: Path, patterns: tuple[str, ...]) -> int:
    """Extract the regular-file members matching ``patterns`` (tar or zip); links and odd paths are skipped."""
    import tarfile
    import zipfile

    count = 0
    if zipfile.is_zipfile(archive_path):
        with zipfile.ZipFile(archive_path) as zf:
            for info in zf.infolist():
                relative = _safe_member(info.filename, patterns)
                if relative and not info.is_dir():
                    atomic_write(into / relative, zf.read(info))
                    count += 1
        return count
    try:
        with tarfile.open(archive_path) as tf:
            for member in tf:
                relative = _safe_member(member.name, patterns)
                if relative and member.isfile():
                    handle = tf.extractfile(member)
                    if handle is not None:
                        atomic_write(into / relative, handle.read())
                        count += 1
    except tarfile.TarError as exc:
        raise InputError(f"cannot read the archive ({exc})", path=archive_path, fix="run the same command again") from None
    return count


def fetch_archive(archive: ManifestArchive, dest: Path, client: Any, *, force: bool = False) -> FetchResult:
    """Stream, verify and extract one archive (skipped when its verified extraction is already there)."""
    if not archive.sha256 and not archive.md5:
        raise InputError(f"{archive.url} has no pinned digest in this genlens, so it is not downloaded",
                         fix="download it yourself, check it, extract it in its upstream layout and pass --data-dir (docs/vision.md)")
    into = dest / archive.into
    mark = into / f"{ARCHIVE_MARK}.{sha256_of(archive.url.encode())[:12]}"  # one per archive: two may share a folder
    pinned = archive.sha256 or archive.md5
    if not force and mark.is_file():
        try:
            if json.loads(mark.read_text(encoding="utf-8")).get("digest") == pinned:
                return FetchResult(archive.into, "present", archive.sha256 or f"md5:{archive.md5}")
        except (OSError, json.JSONDecodeError):
            pass
    into.mkdir(parents=True, exist_ok=True)
    partial = into / ".download.part"
    try:
        sha, md5, _size = _stream_to(archive.url, client, partial)
        got, expected, kind = (sha, archive.sha256, "sha256") if archive.sha256 else (md5, archive.md5, "md5")
        if got != expected:
            raise InputError(f"{kind} mismatch for {archive.url}: got {got[:16]}…, expected {expected[:16]}…; nothing was extracted",
                             fix="the download was corrupted or upstream changed: run again, or report it if it persists")
        count = extract_members(partial, into, archive.members)
    finally:
        partial.unlink(missing_ok=True)
    atomic_write(mark, json.dumps({"url": archive.url, "digest": pinned, "sha256": sha, "members": count}).encode())
    return FetchResult(archive.into, "extracted", sha)


# -- reading message texts out of a Python script (never executed) --------------------------------
def _placeholder(expression: ast.expr) -> str:
    """``{prompt_data['Prompt']}`` -> ``{Prompt}``; ``{explanation}`` -> ``{Explanation}``."""
    text = ast.unparse(expression).lower()
    if "explanation" in text:
        return "{Explanation}"
    if "prompt" in text:
        return "{Prompt}"
    return "{" + ast.unparse(expression) + "}"


def _string_of(node: ast.expr, names: dict[str, ast.expr]) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        parts = []
        for value in node.values:
            if isinstance(value, ast.Constant):
                parts.append(str(value.value))
            elif isinstance(value, ast.FormattedValue):
                parts.append(_placeholder(value.value))
        return "".join(parts)
    if isinstance(node, ast.Name) and node.id in names:
        return _string_of(names[node.id], {})
    return None


def message_texts(source: bytes, function: str, *, origin: str = "") -> list[str]:
    """The ``"text"``/``"content"`` strings of chat messages built in ``function``, in source order."""
    name = origin or "the script"
    try:
        tree = ast.parse(source.decode("utf-8"))
    except (SyntaxError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {name} as Python ({type(exc).__name__})", fix="upstream changed: report it") from None
    names = {t.id: node.value for node in tree.body if isinstance(node, ast.Assign) for t in node.targets
             if isinstance(t, ast.Name)}
    func = next((n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef) and n.name == function), None)
    if func is None:
        raise InputError(f"{name} has no function {function}()", fix="upstream changed: report it")
    names.update({t.id: node.value for node in ast.walk(func) if isinstance(node, ast.Assign) for t in node.targets
                  if isinstance(t, ast.Name)})
    found: list[tuple[int, int, str]] = []
    for node in ast.walk(func):
        if not isinstance(node, ast.Dict):
            continue
        for key, value in zip(node.keys, node.values, strict=True):
            if isinstance(key, ast.Constant) and key.value in ("text", "content"):
                text = _string_of(value, names)
                if text is not None:
                    found.append((value.lineno, value.col_offset, text))
    return [text for _line, _col, text in sorted(found)]


def module_constants(source: bytes, names: list[str], *, origin: str = "") -> list[str]:
    """The values of module-level string constants ``names`` of a Python script (parsed, never executed)."""
    name = origin or "the script"
    try:
        tree = ast.parse(source.decode("utf-8"))
    except (SyntaxError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {name} as Python ({type(exc).__name__})", fix="upstream changed: report it") from None
    assigned = {t.id: node.value for node in tree.body if isinstance(node, ast.Assign) for t in node.targets
                if isinstance(t, ast.Name)}
    out = []
    for constant in names:
        value = assigned.get(constant.strip())
        if not (isinstance(value, ast.Constant) and isinstance(value.value, str)):
            raise InputError(f"{name} has no string constant {constant.strip()}", fix="upstream changed: report it")
        out.append(value.value)
    return out
