"""Every template of every kind, rendered from source documents stuffed with personal and clinical
data: none of it may reach a mail. Values are escaped in HTML and kept to one line."""
from __future__ import annotations

import json
import re
from string import Template

import pytest

from shared_code.notifications import contract as k
from shared_code.notifications import rendering
from shared_code.notifications.dispatcher import NotificationDispatcher
from shared_code.notifications.pump import pump_notifications
from tests.notifications import helpers
from tests.support import steps
from tests.notifications.conftest import assert_nothing_personal


def test_every_kind_has_its_files():
    subjects = json.loads((rendering.TEMPLATES / "subjects.json").read_text())
    assert set(subjects) == set(k.EVENT_KINDS)
    for kind in k.EVENT_KINDS:
        for ext in ("txt", "html"):
            assert (rendering.TEMPLATES / f"{kind}.{ext}").is_file()


def test_all_kinds_rendered_through_the_dispatcher_leak_nothing(api, family):
    for kind in k.EVENT_KINDS:
        data, source, doc = helpers.events()[kind]
        api.container.outbox.emit(kind, data, source, steps.event_writer(family.documents, source, doc))
    pump_notifications(api.container)
    mails = api.container.adapters.mail.list(limit=100)
    assert len(mails) == len(k.EVENT_KINDS) + 2  # two admins, for subscription.ending and referral.overdue
    for mail in mails:
        for part in ("subject", "text", "html"):
            assert_nothing_personal(mail[part])  # not even the recipient's own address
            assert "$" not in mail[part], f"unfilled placeholder in {mail['subject']!r} {part}"
        assert "\n" not in mail["subject"]
        assert re.search(r"<html[^>]*>", mail["html"]) and "</html>" in mail["html"]
    # Patients' mails never name the clinic either (it says what kind of care they receive).
    for mail in mails:
        if mail["to"] == helpers.PATIENT_EMAIL:
            assert "Newcastle" not in mail["subject"] + mail["text"] + mail["html"]


def test_the_clinic_name_is_escaped_in_html_and_plain_in_text(api, family):
    data, source, doc = helpers.events()[k.SHARE_CREATED]
    api.container.outbox.emit(k.SHARE_CREATED, data, source, steps.event_writer(family.documents, source, doc))
    pump_notifications(api.container)
    [mail] = api.container.adapters.mail.list()
    assert "Newcastle &lt;Derm&gt; &amp; Skin" in mail["html"] and "<Derm>" not in mail["html"]
    assert "Hello Newcastle <Derm> & Skin," in mail["text"]


@pytest.mark.parametrize("kind", k.EVENT_KINDS)
def test_render_fills_every_placeholder_with_the_values_the_dispatcher_gives(kind):
    values = {"clinic_name": "Clinic", "link": "https://portal.example/x", "ends_on": "1 April 2025",
              "erase_on": "1 June 2025", "reason_sentence": rendering.rejection_sentence("corrupt"),
              "priority": "urgent", "due_on": "4 March 2025", "count": "3", "sent_on": "3 February 2025"}
    rendered = rendering.render(kind, values)
    assert rendered.subject and rendered.text.strip() and rendered.html.strip()
    # And the files ask for nothing beyond those values (strict substitution would have raised).
    names = set()
    for name in (f"{kind}.txt", f"{kind}.html"):
        for match in Template.pattern.finditer((rendering.TEMPLATES / name).read_text()):
            names.add(match.group("named") or match.group("braced"))
    assert names <= set(values) | {None}


def test_values_cannot_break_lines_or_inject_markup():
    rendered = rendering.render(k.MEMBER_ADDED, {"clinic_name": "A\r\nBcc: x@example.org <b>", "link": "https://p/\"x"})
    assert rendered.subject == "You have been added to A Bcc: x@example.org <b>"
    assert "&lt;b&gt;" in rendered.html and "<b>" not in rendered.html
    assert 'href="https://p/&quot;x"' in rendered.html


def test_a_missing_value_is_an_error_not_a_gap():
    with pytest.raises(KeyError):
        rendering.render(k.SHARE_CREATED, {"clinic_name": "Clinic"})


@pytest.mark.parametrize("reason", ["empty", "too_large", "unsupported_type", "corrupt", "truncated",
                                    "too_many_pixels", "something_new"])
def test_every_rejection_reason_is_a_sentence(reason):
    from shared_code.imaging.errors import Reason

    sentence = rendering.rejection_sentence(reason)
    assert sentence.endswith(".") and "_" not in sentence
    if reason in {r.value for r in Reason}:
        assert sentence != rendering.REJECTION_FALLBACK


def test_every_imaging_reason_code_has_its_own_sentence():
    from shared_code.imaging.errors import Reason

    assert {r.value for r in Reason} <= set(rendering.REJECTION_SENTENCES)


def test_the_dispatcher_reads_only_what_it_needs(api, family, clock):
    """The comment itself, the image, the folder: never read (so never rendered)."""
    data, source, doc = helpers.events()[k.COMMENT_CREATED]
    api.container.outbox.emit(k.COMMENT_CREATED, data, source, steps.event_writer(family.documents, source, doc))
    [body] = steps.drain(family.queue)
    reads = []

    class Spy:
        def __getattr__(self, name):
            return getattr(family.documents, name)

        def read(self, container, pk, id):
            reads.append((container, pk, id))
            return family.documents.read(container, pk, id)

    class Mail:
        def send(self, email):
            pass

    NotificationDispatcher(Spy(), Mail(), api.container.settings, clock).handle(body, 1)
    assert ("patients", helpers.PATIENT_ID, "account") in reads
    assert not any(id in (helpers.COMMENT_ID, helpers.FOLDER_ID, helpers.IMAGE_ID) for _, _, id in reads)
