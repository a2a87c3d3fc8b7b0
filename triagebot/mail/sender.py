"""Send reply messages over SMTP (`smtplib`), one connection per delivery run.

Every failure becomes a `DeliveryError` that says whether trying again later can help: 4xx replies,
refused or dropped connections and timeouts are temporary; 5xx replies are permanent. The password
comes in as a `SecretStr` (from TRIAGEBOT_SMTP_PASSWORD) and never appears in a message or log line.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from email.message import EmailMessage
from types import TracebackType
from typing import Any

from pydantic import SecretStr

from triagebot.config import SmtpSettings
from triagebot.errors import DeliveryError

log = logging.getLogger(__name__)


class SmtpDeliveryError(DeliveryError):
    """An SMTP delivery failed; `temporary` says whether a later attempt may succeed.

    `uncertain` means the connection broke while the message itself was being handed over, before the
    server's answer: it may have been accepted, so sending it again could duplicate it.
    """

    def __init__(
        self, message: str, *, temporary: bool, code: int | None = None, uncertain: bool = False
    ) -> None:
        super().__init__(message)
        self.temporary = temporary and not uncertain
        self.code = code
        self.uncertain = uncertain


class _Tracking:
    """Remembers whether the DATA phase began, the only phase whose failure leaves the outcome open."""

    in_data = False

    def data(self, msg: Any) -> tuple[int, bytes]:
        self.in_data = True
        return super().data(msg)  # type: ignore[misc,no-any-return]


class _SMTP(_Tracking, smtplib.SMTP):
    """Plain or STARTTLS connection that tracks the DATA phase."""


class _SMTPS(_Tracking, smtplib.SMTP_SSL):
    """Implicit-TLS connection that tracks the DATA phase."""


def _text(value: bytes | str) -> str:
    """A server reply as text."""
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def _wrap(exc: Exception, where: str) -> SmtpDeliveryError:
    """Translate smtplib and socket errors into our DeliveryError, temporary or not."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        replies = "; ".join(f"{rcpt}: {code} {_text(msg)}" for rcpt, (code, msg) in exc.recipients.items())
        temporary = all(400 <= code < 500 for code in codes)
        return SmtpDeliveryError(
            f"{where}: recipients refused: {replies}", temporary=temporary, code=codes[0] if codes else None
        )
    if isinstance(exc, smtplib.SMTPResponseException):
        code = exc.smtp_code
        return SmtpDeliveryError(
            f"{where}: {code} {_text(exc.smtp_error)}", temporary=not 500 <= code < 600, code=code
        )
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return SmtpDeliveryError(f"{where}: {exc}", temporary=False)
    if isinstance(exc, ssl.SSLError):
        return SmtpDeliveryError(f"{where}: TLS failed: {exc.reason or exc}", temporary=False)
    if isinstance(exc, smtplib.SMTPException | OSError):
        return SmtpDeliveryError(f"{where}: {type(exc).__name__}: {exc}", temporary=True)
    raise exc


class SmtpSender:
    """Delivers messages through one SMTP server; use as a context manager for one connection.

    Example:
        >>> with SmtpSender(settings.smtp, password) as sender:   # doctest: +SKIP
        ...     sender.send(message)
    """

    def __init__(
        self, settings: SmtpSettings, password: SecretStr | None, *, context: ssl.SSLContext | None = None
    ) -> None:
        """Keep the settings; nothing connects until the first `send` or `__enter__`."""
        if not settings.host:
            raise DeliveryError("no SMTP host configured ([smtp] host)")
        self._settings = settings
        self._password = password
        self._context = context
        self._smtp: _SMTP | _SMTPS | None = None

    @property
    def where(self) -> str:
        """host:port, for messages."""
        return f"{self._settings.host}:{self._settings.port}"

    def _connect(self) -> _SMTP | _SMTPS:
        """Open, secure and log in to the server."""
        s = self._settings
        host = s.host or ""
        context = self._context or ssl.create_default_context()
        smtp: _SMTP | _SMTPS
        try:
            if s.security == "tls":
                smtp = _SMTPS(host, s.port, timeout=s.timeout, context=context)
            else:
                smtp = _SMTP(host, s.port, timeout=s.timeout)
            try:
                smtp.ehlo()
                if s.security == "starttls":
                    smtp.starttls(context=context)
                    smtp.ehlo()
                if s.user:
                    if self._password is None:
                        missing = "[smtp] user is set but TRIAGEBOT_SMTP_PASSWORD is not"
                        raise SmtpDeliveryError(f"{self.where}: {missing}", temporary=False)
                    smtp.login(s.user, self._password.get_secret_value())
            except BaseException:
                smtp.close()
                raise
        except SmtpDeliveryError:
            raise
        except smtplib.SMTPAuthenticationError as exc:
            refusal = f"{self.where}: login as {s.user} refused: {exc.smtp_code}"
            raise SmtpDeliveryError(refusal, temporary=False, code=exc.smtp_code) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise _wrap(exc, self.where) from None
        return smtp

    def __enter__(self) -> SmtpSender:
        self._smtp = self._connect()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Say QUIT (ignoring a server that is already gone)."""
        smtp, self._smtp = self._smtp, None
        if smtp is None:
            return
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            smtp.close()

    def send(self, message: EmailMessage) -> str:
        """Send one message; returns a short receipt. A failure closes the connection (the next `send`
        reconnects), so one bad message does not leave the session in an unknown state.

        Raises:
            SmtpDeliveryError: `temporary` for 4xx replies and connection problems before the message
                was handed over; `uncertain` when the connection broke while it was.
        """
        if self._smtp is None:
            self._smtp = self._connect()
        smtp = self._smtp
        smtp.in_data = False
        try:
            refused = smtp.send_message(message)
        except (smtplib.SMTPException, OSError) as exc:
            self._smtp = None
            smtp.close()
            if smtp.in_data and not isinstance(exc, smtplib.SMTPResponseException):
                raise SmtpDeliveryError(
                    f"{self.where}: connection lost handing over the message ({type(exc).__name__}); "
                    "it may have been accepted",
                    temporary=False,
                    uncertain=True,
                ) from None
            raise _wrap(exc, self.where) from None
        if refused:
            # some recipients took it: the message is out, so this is not retried (that would duplicate)
            log.warning("%s: some recipients refused: %s", self.where, sorted(refused))
        return f"accepted by {self.where}"
