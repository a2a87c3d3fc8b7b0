"""Not a question → no draft: announcements, votes, notices and thanks-only replies, in both languages."""

from __future__ import annotations

import pytest

from triagebot.app import Engine
from triagebot.core.models import Action, Channel, InboundMessage
from triagebot.core.policy import not_a_question
from triagebot.core.question import make_question

NOTICES = [
    (
        "[VOTE] Release Apache CloudStack 4.19.3.0 RC2",
        "Hi all,\nI have created a release candidate.\nVote +1/0/-1.",
    ),
    ("[ANNOUNCE] Apache CloudStack 4.20.1.0 LTS released", "The project is pleased to announce the release."),
    ("[DISCUSS] Drop CentOS 7 packages in the next release", "Opinions welcome on the plan below."),
    ("[RESULT][VOTE] Release 4.18.2.0", "The vote passes with 5 binding +1s."),
    ("", "[ANNOUNCE] Apache CloudStack 4.19.1.0 released. Thanks to everyone who voted!"),
    ("CloudStack European User Group meetup, 14 March", "Join us in Berlin for talks and drinks."),
    ("Apache CloudStack 4.21.0.0 released", "Packages are on the download page now."),
    ("【告知】CloudStack ユーザー会 第12回 勉強会", "次回の勉強会を開催します。参加登録はこちらから。"),
    ("CloudStack 4.20 リリースのお知らせ", "新しいリリースが公開されました。"),
    ("［お知らせ］メーリングリストの移行について", "来月からアドレスが変わります。"),
    ("Re: agent keeps restarting", "Thanks a lot, that fixed it!"),
    ("Re: SSVM が起動しない", "ありがとうございます。無事に解決しました。"),
    ("Re: NFS mount", "Solved, thank you all."),
]

QUESTIONS = [
    ("Re: agent keeps restarting", "Thanks, but it still fails with the same error"),
    ("Re: SSVM が起動しない", "ありがとうございます。でもまだ起動しません。"),
    ("add hosts fail", "thanks in advance"),
    ("Apache CloudStack 4.21 released?", "is there a package for Ubuntu 24.04 yet"),
    ("4.19 release notes say java 17 and now my management server fails", "see subject"),
    (
        "CloudStack 4.18 のリリースノートについて",
        "アップグレード後に管理サーバが起動しません。どうすればいいですか",
    ),
    ("Re: 勉強会", "資料のリンクが 404 になります。どこにありますか？"),
]


@pytest.mark.parametrize(("subject", "body"), NOTICES)
def test_notices_and_thanks_are_not_questions(subject: str, body: str) -> None:
    assert not_a_question(make_question(subject, body)) is not None


@pytest.mark.parametrize(("subject", "body"), QUESTIONS)
def test_questions_near_the_boundary_stay_questions(subject: str, body: str) -> None:
    assert not_a_question(make_question(subject, body)) is None


@pytest.mark.parametrize(("subject", "body"), [NOTICES[0], NOTICES[7], NOTICES[11]])
def test_not_a_question_gets_no_draft(engine: Engine, subject: str, body: str) -> None:
    message = InboundMessage(Channel.EMAIL, "test", "m", subject, body)
    result = engine.triage(message)
    assert result.decision.action is Action.NOT_A_QUESTION
    assert result.decision.tips == () and result.decision.ask_for == ()
    assert result.reply.text == "" and result.reply.parts == ()
    assert result.decision.why.startswith("not a question")


@pytest.mark.parametrize(
    "body", ["SELinux is set to enforcing. thanks", "mount.nfs: access denied by server ありがとう"]
)
def test_a_thanks_after_a_known_symptom_is_still_a_question(engine: Engine, body: str) -> None:
    result = engine.triage(InboundMessage(Channel.EMAIL, "test", "m", "", body))
    assert result.decision.action is Action.SUGGEST
    assert result.reply.text
