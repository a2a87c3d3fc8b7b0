"""The SMTP sender against a real aiosmtpd server: STARTTLS, implicit TLS, refusals, a dropped DATA."""

from __future__ import annotations

import ssl
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import SecretStr

from tests.mail.smtpd import DROP, smtp_server
from triagebot.config import SmtpSettings
from triagebot.errors import DeliveryError
from triagebot.mail.message import Reply, build_message
from triagebot.mail.sender import SmtpDeliveryError, SmtpSender


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (made with the openssl command line)."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def server_context(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    return context


def client_context(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(certificate[0]))


def message(subject: str = "Re: test") -> object:
    return build_message(
        Reply(
            from_address="triage@example.org",
            to=("users@lists.example.org",),
            subject=subject,
            body="本文",
            message_id=f"{abs(hash(subject))}.triagebot@example.org",
            in_reply_to="q@x",
            references=("q@x",),
            date=datetime(2026, 3, 1, tzinfo=UTC),
        )
    )


def settings(port: int, **changes: object) -> SmtpSettings:
    return SmtpSettings.model_validate({"host": "127.0.0.1", "port": port, "timeout": 10, **changes})


def test_starttls_encrypts_before_sending(certificate: tuple[Path, Path]) -> None:
    with smtp_server(tls_context=server_context(certificate), require_starttls=True) as (recorder, port):
        with SmtpSender(
            settings(port, security="starttls"), None, context=client_context(certificate)
        ) as sender:
            assert sender.send(message()) == f"accepted by 127.0.0.1:{port}"  # type: ignore[arg-type]
        [arrived] = recorder.received
        assert arrived.tls and arrived.message.get_content().strip() == "本文"


def test_implicit_tls(certificate: tuple[Path, Path]) -> None:
    with smtp_server(ssl_context=server_context(certificate)) as (recorder, port):
        sender = SmtpSender(settings(port, security="tls"), None, context=client_context(certificate))
        with sender:
            sender.send(message())  # type: ignore[arg-type]
        assert [a.tls for a in recorder.received] == [True]


def test_an_untrusted_certificate_is_a_permanent_failure(certificate: tuple[Path, Path]) -> None:
    with smtp_server(tls_context=server_context(certificate)) as (recorder, port):
        with pytest.raises(SmtpDeliveryError, match="TLS failed") as caught:
            SmtpSender(settings(port, security="starttls"), None).send(message())  # type: ignore[arg-type]
        assert not caught.value.temporary and recorder.received == []


def test_starttls_demanded_but_not_offered_is_permanent() -> None:
    with smtp_server() as (recorder, port):
        with pytest.raises(SmtpDeliveryError, match="STARTTLS") as caught:
            SmtpSender(settings(port, security="starttls"), None).send(message())  # type: ignore[arg-type]
        assert not caught.value.temporary and recorder.received == []


def test_refusals_say_whether_to_retry() -> None:
    with smtp_server() as (recorder, port):
        recorder.script.extend(["452 4.3.1 out of space", "554 5.6.0 content rejected"])
        sender = SmtpSender(settings(port, security="none"), None)
        with pytest.raises(SmtpDeliveryError, match="452 4.3.1 out of space") as temporary:
            sender.send(message("Re: a"))  # type: ignore[arg-type]
        assert temporary.value.temporary and temporary.value.code == 452
        with pytest.raises(SmtpDeliveryError, match="554") as permanent:
            sender.send(message("Re: b"))  # type: ignore[arg-type]
        assert not permanent.value.temporary and permanent.value.code == 554
        sender.send(message("Re: c"))  # type: ignore[arg-type]  # reconnects after a failure
        sender.close()
        assert [a.message["Subject"] for a in recorder.received] == ["Re: c"]


def test_a_connection_lost_during_data_is_uncertain_not_retried() -> None:
    with smtp_server() as (recorder, port):
        recorder.script.append(DROP)
        with pytest.raises(SmtpDeliveryError, match="may have been accepted") as caught:
            SmtpSender(settings(port, security="none"), None).send(message())  # type: ignore[arg-type]
        assert caught.value.uncertain and not caught.value.temporary


def test_user_without_password_and_no_host_are_clear_errors() -> None:
    with smtp_server() as (_, port):
        with pytest.raises(SmtpDeliveryError, match="TRIAGEBOT_SMTP_PASSWORD is not") as caught:
            SmtpSender(settings(port, security="none", user="bot"), None).send(message())  # type: ignore[arg-type]
        assert not caught.value.temporary
    with pytest.raises(DeliveryError, match="no SMTP host"):
        SmtpSender(SmtpSettings(), SecretStr("x"))
