"""A MailRecord becomes the InboundMessage triage takes, field for field."""

from __future__ import annotations

from datetime import UTC, datetime

from triagebot.core.models import Channel
from triagebot.ingest.records import MailRecord, record_to_inbound


def test_record_to_inbound_copies_every_field() -> None:
    record = MailRecord(
        message_id="m2@example.org",
        subject="Re: KVM host add fails",
        author="Bob <bob@example.org>",
        sent_at=datetime(2024, 3, 5, 10, 0, tzinfo=UTC),
        in_reply_to="m1@example.org",
        references=("m0@example.org", "m1@example.org"),
        text="Which version?",
        original="Which version?\n\n> old",
        raw=b"...",
        where="users.mbox#2",
        list_id="users.cloudstack.apache.org",
    )
    inbound = record_to_inbound(record, "users.mbox")

    assert inbound.channel is Channel.EMAIL
    assert inbound.source == "users.mbox"
    assert (inbound.message_id, inbound.subject, inbound.author) == (
        "m2@example.org",
        "Re: KVM host add fails",
        "Bob <bob@example.org>",
    )
    assert (inbound.text, inbound.original) == ("Which version?", "Which version?\n\n> old")
    assert inbound.sent_at == datetime(2024, 3, 5, 10, 0, tzinfo=UTC)
    assert inbound.in_reply_to == "m1@example.org"
    assert inbound.references == ("m0@example.org", "m1@example.org")
