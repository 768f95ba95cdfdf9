"""Renders a notification's subject, text and HTML from the files in `templates/`.

`templates/<kind>.txt` and `<kind>.html` hold each kind's words, `_layout.txt` / `_layout.html` the
frame around them, `subjects.json` the subject lines; all use `string.Template` placeholders
(`$clinic_name`). Substitution is strict: a placeholder without a value is an error, never an
empty gap. Values are HTML-escaped in the HTML part, and stripped of line breaks and control
characters everywhere (a subject is a mail header).

What a template may say is decided by the values the dispatcher hands it: ids, the clinic's name,
a portal link, a date, a reason sentence. Never a patient's name, NHS number, note or comment.
"""
from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from string import Template
from typing import Mapping

from shared_code.notifications.contract import EVENT_KINDS

TEMPLATES = Path(__file__).with_name("templates")
SERVICE_NAME = "Teledermatology photo sharing"

# Upload rejection codes (shared_code.imaging.errors.Reason) as sentences a patient understands.
REJECTION_SENTENCES = {
    "empty": "The file was empty.",
    "too_large": "The file was larger than we can accept.",
    "unsupported_type": "It was not a photograph in a format we accept (JPEG, PNG or HEIC).",
    "corrupt": "The file was damaged and could not be read.",
    "truncated": "The file was incomplete, perhaps because the upload was interrupted.",
    "too_many_pixels": "The picture's dimensions were larger than we can accept.",
}
REJECTION_FALLBACK = "The file could not be accepted."

_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


def one_line(value: str) -> str:
    return re.sub(r"\s+", " ", _CONTROL.sub(" ", value)).strip()


@lru_cache(maxsize=None)
def _file(name: str) -> Template:
    return Template((TEMPLATES / name).read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def _subjects() -> dict[str, Template]:
    raw = json.loads((TEMPLATES / "subjects.json").read_text(encoding="utf-8"))
    return {kind: Template(line) for kind, line in raw.items()}


def render(kind: str, values: Mapping[str, str]) -> Rendered:
    if kind not in EVENT_KINDS:
        raise ValueError(f"no templates for {kind!r}")
    plain = {name: one_line(str(value)) for name, value in values.items()}
    plain.setdefault("service_name", SERVICE_NAME)
    escaped = {name: html.escape(value, quote=True) for name, value in plain.items()}
    subject = one_line(_subjects()[kind].substitute(plain))
    text = _file("_layout.txt").substitute(plain, content=_file(f"{kind}.txt").substitute(plain).strip())
    body = _file("_layout.html").substitute(escaped, subject=html.escape(subject),
                                            content=_file(f"{kind}.html").substitute(escaped).strip())
    return Rendered(subject, text.strip() + "\n", body)


def rejection_sentence(reason: str) -> str:
    return REJECTION_SENTENCES.get(reason, REJECTION_FALLBACK)
