"""Decide what a reply does from the question, the classification and the detail report."""

from __future__ import annotations

import re

from triagebot.core.models import Action, Classification, Decision, DetailReport, Question

_NAMES = {
    "version": "CloudStack version",
    "os": "management-server OS",
    "hypervisor": "hypervisor",
    "specifics": "specifics",
}

# A tag in the subject that list etiquette reserves for announcements, votes and discussions.
_NOTICE_TAG = re.compile(
    r"(?i)[\[【［(（]\s*(vote|announce(?:ment)?|discuss(?:ion)?|result|proposal|release|advisory|"
    r"security|meetup|event|告知|お知らせ|ご案内|案内|リリース|開催|募集)\s*[\]】］)）]"
)
# Subjects that read as a notice; they count only when the post itself asks nothing.
_NOTICE_SUBJECT = re.compile(
    r"(?i)\b(?:released|release notes|is (?:now )?available|announc\w*|meetup|user group|webinar|"
    r"conference|call for (?:papers|presentations|speakers)|newsletter)\b"
    r"|リリースのお知らせ|お知らせ|告知|開催|勉強会|ミートアップ|ユーザー会|ユーザ会|イベント"
)
_THANKS = re.compile(
    r"(?i)\b(?:thanks?|thank you|thx|cheers|much appreciated|appreciate it|solved|resolved|"
    r"works now|working now|fixed now|that (?:did|fixed) it)\b"
    r"|ありがとう|有難う|感謝|助かりました|解決しました|解決できました|動きました|うまくいきました|お世話になりました"
)
_ASKS = re.compile(
    r"(?i)[?？]|\b(?:how|why|what|where|which|can(?:not|'t)?|should|does|error|fail\w*|exception|"
    r"unable|still|but|however|not working|doesn't|does not|won't|isn't|wrong|stuck|again|in advance)\b"
    r"|エラー|失敗|できません|できない|動きません|起動しません|わかりません|分かりません"
    r"|どう(?:すれば|したら|やって)|なぜ|教えて|しかし|ですが|まだ|問題が"
)
THANKS_MAX = 280  # a thanks-only reply is short; longer posts usually carry a new question
_REPLY = re.compile(r"(?i)^\s*(?:re|aw|sv|fw|fwd|返信|回答)\s*[:：]")


def not_a_question(question: Question, classification: Classification | None = None) -> str | None:
    """Why the post is an announcement, vote, notice or thanks-only reply, or None when it may ask.

    A short thanks counts as thanks-only only when it asks nothing and, if a classification is
    given, no tip reached the threshold ("SELinux is set to enforcing, thanks" is a question).
    """
    words = question.prose or question.body
    first_line = words.strip().split("\n", 1)[0] if not question.subject.strip() else ""
    tag = _NOTICE_TAG.search(question.subject) or _NOTICE_TAG.match(first_line)
    if tag:
        return f"tagged {tag.group(0)}"
    notice = _NOTICE_SUBJECT.search(question.subject)
    thanks = len(words.strip()) <= THANKS_MAX and _THANKS.search(words) is not None
    if not notice and not thanks:
        return None  # most posts: whether they ask something does not matter then
    asks = _ASKS.search(words) is not None or bool(question.log_lines)
    subject_asks = _ASKS.search(question.subject) is not None
    if notice and not asks and not subject_asks:
        return f"the subject announces ({notice.group(0)}) and the post asks nothing"
    # a first post's subject states the problem; a reply's subject only repeats the thread's
    subject_counts = subject_asks and not _REPLY.match(question.subject)
    if thanks and not asks and not subject_counts and not (classification and classification.tips):
        return "a thanks-only reply"
    return None


def decide(classification: Classification, details: DetailReport, notice: str | None = None) -> Decision:
    """No draft for a notice (`not_a_question`); else suggest when a tip reached the threshold,
    else ask for missing details, else stay silent."""
    if notice is not None:
        return Decision(Action.NOT_A_QUESTION, (), (), f"not a question: {notice}")
    missing = details.missing
    asking = ", ".join(_NAMES[d.value] for d in missing) or "nothing"
    if classification.left_out:
        asking += "; left out " + ", ".join(classification.left_out)
    if classification.tips:
        top = classification.tips[0]
        threshold = classification.threshold
        others = ", ".join(f"{t.tip_id} {t.score:.2f}" for t in classification.tips[1:])
        also = f"; also {others}" if others else ""
        why = f"{top.tip_id} scored {top.score:.2f} (threshold {threshold:.2f}){also}; asking for {asking}"
        return Decision(Action.SUGGEST, classification.tips, missing, why)
    below = classification.best_below
    best = f"best was {below.tip_id} at {below.score:.2f}" if below else "no candidate"
    why = f"no tip reached {classification.threshold:.2f} ({best}); asking for {asking}"
    return Decision(Action.ASK if missing else Action.ABSTAIN, (), missing, why)
