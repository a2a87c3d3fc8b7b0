"""The interface's words in English and Japanese, and the choice between them.

Every string a page shows comes from `MESSAGES`; a test checks that each key has both languages. The
language is the `lang` cookie when set (the switch in the header), else the best match in the browser's
Accept-Language, else English.
"""

from __future__ import annotations

from dataclasses import dataclass

LANGUAGES = ("en", "ja")
DEFAULT_LANGUAGE = "en"
LANG_COOKIE = "triagebot_lang"

MESSAGES: dict[str, tuple[str, str]] = {
    # key: (English, Japanese)
    "app.title": ("triagebot moderation", "triagebot モデレーション"),
    "nav.queue": ("Queue", "キュー"),
    "nav.outbox": ("Outbox", "送信キュー"),
    "nav.dashboard": ("Dashboard", "ダッシュボード"),
    "nav.users": ("Users", "ユーザー"),
    "nav.audit": ("Audit log", "監査ログ"),
    "nav.logout": ("Log out", "ログアウト"),
    "nav.language": ("Language", "言語"),
    "nav.signed_in_as": ("Signed in as", "ログイン中:"),
    "login.title": ("Log in", "ログイン"),
    "login.name": ("Name", "ユーザー名"),
    "login.password": ("Password", "パスワード"),
    "login.submit": ("Log in", "ログイン"),
    "login.failed": ("Wrong name or password.", "ユーザー名またはパスワードが違います。"),
    "login.locked": (
        "Too many wrong passwords: this account is locked for a while. Try again later.",
        "パスワードの誤りが多すぎるため、このアカウントはしばらくロックされています。後でもう一度お試しください。",
    ),
    "error.title": ("Something is wrong", "エラー"),
    "error.csrf": (
        "The form was stale or did not come from this site. Reload the page and try again.",
        "フォームが古いか、このサイトから送信されたものではありません。ページを再読み込みしてやり直してください。",
    ),
    "error.forbidden": ("You may not open this page.", "このページを開く権限がありません。"),
    "error.not_found": ("Not found.", "見つかりません。"),
    "error.bad_input": ("The request could not be used:", "リクエストを処理できませんでした:"),
    "error.back": ("Back to the queue", "キューに戻る"),
    "queue.title": ("Review queue", "レビューキュー"),
    "queue.filters": ("Filters", "絞り込み"),
    "queue.apply": ("Apply", "適用"),
    "queue.reset": ("Reset", "リセット"),
    "queue.any": ("any", "すべて"),
    "queue.source": ("Source", "投稿元"),
    "queue.tip": ("Tip", "ヒント"),
    "queue.language": ("Language", "言語"),
    "queue.band": ("Score", "スコア"),
    "queue.band.high": ("high (≥ 0.75)", "高 (0.75 以上)"),
    "queue.band.mid": ("medium (0.5–0.75)", "中 (0.5〜0.75)"),
    "queue.band.low": ("low (< 0.5)", "低 (0.5 未満)"),
    "queue.band.none": ("no tip", "ヒントなし"),
    "queue.missing": ("Missing detail", "不足している情報"),
    "queue.status": ("Status", "状態"),
    "queue.answered": ("Answered by a human", "人による回答"),
    "queue.answered.yes": ("answered", "回答あり"),
    "queue.answered.no": ("not answered", "回答なし"),
    "queue.sort": ("Sort", "並び順"),
    "queue.sort.oldest": ("oldest first", "古い順"),
    "queue.sort.newest": ("newest first", "新しい順"),
    "queue.sort.score": ("highest score first", "スコアの高い順"),
    "queue.sort.updated": ("recently changed", "最近変更された順"),
    "queue.count": ("{n} items", "{n} 件"),
    "queue.empty": ("Nothing matches these filters.", "条件に一致する項目はありません。"),
    "queue.subject": ("Subject", "件名"),
    "queue.asker": ("Asker", "質問者"),
    "queue.tips": ("Suggested tips", "候補のヒント"),
    "queue.created": ("Received", "受信日時"),
    "queue.prev": ("Previous", "前へ"),
    "queue.next": ("Next", "次へ"),
    "queue.page": ("Page {page} of {pages}", "{pages} ページ中 {page} ページ目"),
    "queue.keys_hint": ("Press ? for keyboard shortcuts.", "? キーでキーボードショートカットを表示します。"),
    "keys.title": ("Keyboard shortcuts", "キーボードショートカット"),
    "keys.j": ("next item", "次の項目"),
    "keys.k": ("previous item", "前の項目"),
    "keys.a": ("approve the selected draft", "選択した下書きを承認"),
    "keys.r": ("reject the selected draft", "選択した下書きを却下"),
    "keys.e": ("open the selected draft to edit", "選択した下書きを開いて編集"),
    "keys.help": ("show or hide this help", "このヘルプの表示・非表示"),
    "keys.close": ("Close", "閉じる"),
    "status.pending": ("pending", "未処理"),
    "status.approved": ("approved", "承認済み"),
    "status.edited": ("edited", "編集済み"),
    "status.rejected": ("rejected", "却下"),
    "status.sent": ("sent", "送信済み"),
    "status.all": ("all", "すべて"),
    "lang.en": ("English", "英語"),
    "lang.ja": ("Japanese", "日本語"),
    "detail.version": ("CloudStack version", "CloudStack のバージョン"),
    "detail.os": ("management server OS", "管理サーバーの OS"),
    "detail.hypervisor": ("hypervisor", "ハイパーバイザー"),
    "detail.specifics": ("concrete specifics (error, log, steps)", "具体的な情報 (エラー、ログ、手順)"),
    "draft.title": ("Draft reply", "返信の下書き"),
    "draft.answered": ("Already answered", "回答済み"),
    "draft.answered_note": (
        "Someone has already answered this thread. Approving it will not send the draft unless you tick "
        "“send anyway”.",
        "このスレッドにはすでに回答があります。「それでも送信する」にチェックしない限り、承認しても下書きは送信されません。",
    ),
    "draft.escalated": ("Needs an expert", "専門家の確認が必要"),
    "draft.thread": ("The thread", "スレッド"),
    "draft.question": ("Question", "質問"),
    "draft.reply_by_human": ("Reply by a human", "人による返信"),
    "draft.follow_up": ("Follow-up by the asker", "質問者による追記"),
    "draft.quoted": ("quoted text ({n} lines)", "引用部分 ({n} 行)"),
    "draft.from": ("From", "差出人"),
    "draft.source": ("Source", "投稿元"),
    "draft.status": ("Status", "状態"),
    "draft.tips": ("Suggested tips", "候補のヒント"),
    "draft.no_tips": ("No tip was suggested.", "候補のヒントはありません。"),
    "draft.score": ("score", "スコア"),
    "draft.evidence": ("evidence", "根拠"),
    "draft.why": ("Why", "理由"),
    "draft.details": ("Details", "情報"),
    "draft.found": ("found", "あり"),
    "draft.missing": ("missing", "不足"),
    "draft.reply": ("Reply to send", "送信する返信"),
    "draft.send_anyway": ("send anyway, although the thread is answered", "回答済みでも送信する"),
    "draft.approve": ("Approve", "承認"),
    "draft.approve_edited": ("Save edits and approve", "編集を保存して承認"),
    "draft.reject": ("Reject", "却下"),
    "draft.reject_reason": ("Reason", "理由"),
    "draft.reject_text": ("Comment (optional)", "コメント (任意)"),
    "draft.relabel": ("Relabel and re-render", "ヒントを付け直して再作成"),
    "draft.relabel_help": ("Tips for the reply", "返信に使うヒント"),
    "draft.escalate": ("Needs an expert", "専門家に回す"),
    "draft.history": ("History", "履歴"),
    "draft.done": (
        "This item is {status}; no more actions.",
        "この項目は{status}です。これ以上の操作はできません。",
    ),
    "draft.sent_text": ("Text approved for sending", "送信用に承認された本文"),
    "draft.back": ("Back to the queue", "キューに戻る"),
    "reason.wrong-tip": ("wrong tip", "ヒントが違う"),
    "reason.not-a-question": ("not a question", "質問ではない"),
    "reason.already-answered": ("already answered", "回答済み"),
    "reason.duplicate": ("duplicate", "重複"),
    "reason.needs-human": ("needs a human answer", "人による回答が必要"),
    "reason.other": ("other", "その他"),
    "flash.approved": ("Approved.", "承認しました。"),
    "flash.approved_not_sent": (
        "Approved; not queued for sending because the thread is already answered.",
        "承認しました。スレッドは回答済みのため送信キューには入れていません。",
    ),
    "flash.rejected": ("Rejected.", "却下しました。"),
    "flash.relabelled": (
        "Relabelled; the draft was rendered again.",
        "ヒントを付け直し、下書きを再作成しました。",
    ),
    "flash.escalated": ("Marked as needing an expert.", "専門家の確認が必要として記録しました。"),
    "flash.resent": ("Queued for sending again.", "再送信キューに入れました。"),
    "flash.resolved": ("Marked as delivered.", "送信済みとして記録しました。"),
    "outbox.title": ("Outbox", "送信キュー"),
    "outbox.problems": ("Failed and unknown deliveries", "失敗・不明の送信"),
    "outbox.none": ("No delivery needs attention.", "対応が必要な送信はありません。"),
    "outbox.state": ("State", "状態"),
    "outbox.subject": ("Subject", "件名"),
    "outbox.to": ("To", "宛先"),
    "outbox.attempts": ("Attempts", "試行回数"),
    "outbox.error": ("Last error", "最後のエラー"),
    "outbox.resend": ("Send again", "再送信"),
    "outbox.mark_sent": ("It was delivered", "送信済みにする"),
    "outbox.counts": ("Deliveries by state", "状態別の送信数"),
    "outbox.unknown_help": (
        "“unknown” means the sender stopped during the SMTP conversation: the reply may or may not have "
        "arrived. Check the list archive, then send it again or mark it delivered.",
        "「不明」は SMTP の送信中に処理が止まったことを意味し、返信が届いたかどうかはわかりません。"
        "リストのアーカイブを確認してから、再送信するか送信済みにしてください。",
    ),
    "users.title": ("Users", "ユーザー"),
    "users.name": ("Name", "名前"),
    "users.role": ("Role", "役割"),
    "users.locked": ("Locked until", "ロック解除"),
    "users.failed": ("Wrong passwords in a row", "連続したパスワード誤り"),
    "users.created": ("Created", "作成日時"),
    "users.add": ("Add a user", "ユーザーを追加"),
    "users.added": ("User added.", "ユーザーを追加しました。"),
    "users.unlock": ("Unlock", "ロック解除"),
    "users.cli_hint": (
        "Users can also be added on the command line: triagebot user add NAME --role moderator",
        "コマンドラインでも追加できます: triagebot user add NAME --role moderator",
    ),
    "audit.title": ("Audit log", "監査ログ"),
    "audit.at": ("When", "日時"),
    "audit.actor": ("Who", "実行者"),
    "audit.action": ("Action", "操作"),
    "audit.item": ("Item", "項目"),
    "audit.change": ("Change", "変更"),
    "audit.note": ("Note", "メモ"),
    "audit.export": ("Export as JSONL", "JSONL でエクスポート"),
    "audit.filter_actor": ("Who", "実行者"),
    "audit.filter_action": ("Action", "操作"),
    "dash.title": ("Dashboard", "ダッシュボード"),
    "dash.per_tip": ("Questions per tip, by week", "ヒント別の質問数 (週ごと)"),
    "dash.missing": ("Share of questions missing each detail", "各情報が不足している質問の割合"),
    "dash.outcomes": ("Moderator decisions per tip", "ヒント別のモデレーターの判断"),
    "dash.outcome.approved": ("approved as drafted", "そのまま承認"),
    "dash.outcome.edited": ("edited", "編集して承認"),
    "dash.outcome.rejected": ("rejected", "却下"),
    "dash.precision": ("approved as drafted / decided", "そのまま承認 / 判断済み"),
    "dash.median_review": ("Median time to review", "レビューまでの時間 (中央値)"),
    "dash.abstentions": ("Abstentions (no tip, nothing to ask)", "回答見送り (ヒントなし・質問事項なし)"),
    "dash.failures": ("Delivery failures", "送信の失敗"),
    "dash.total": ("Questions", "質問数"),
    "dash.none": ("no data yet", "データがありません"),
    "dash.no_tip": ("(no tip)", "(ヒントなし)"),
    "dash.hours": ("{h} h", "{h} 時間"),
    "dash.minutes": ("{m} min", "{m} 分"),
    "nav.gaps": ("Gaps", "未対応の質問"),
    "gaps.title": ("Coverage gaps", "ヒントのない質問のまとまり"),
    "gaps.intro": (
        "Questions the bot had no tip for, or whose tip a moderator rejected as wrong, grouped by theme; "
        "the largest group is the new tip that would help most.",
        "ボットがヒントを出せなかった質問と、モデレーターが誤ったヒントとして却下した質問をテーマごとにまとめたもの。"
        "最も大きなまとまりが、新しいヒントとして最も役立ちます。",
    ),
    "gaps.summary": (
        "{n} questions, {c} clusters, {u} in no cluster",
        "質問 {n} 件、まとまり {c} 件、どこにも属さない質問 {u} 件",
    ),
    "dash.quality": ("Quality", "品質"),
    "dash.decisions": ("Moderators' decisions per week (share)", "週ごとのモデレーターの判断 (割合)"),
    "dash.gaps_link": ("Coverage gaps: questions without a tip, by theme", "ヒントのない質問のまとまり"),
    "dash.report_hint": (
        "Per-tip precision, recall and F1, the confusion matrix and the calibration charts: "
        "triagebot report -o report.html",
        "ヒント別の適合率・再現率・F1、混同行列、較正の図: triagebot report -o report.html",
    ),
    "common.yes": ("yes", "はい"),
    "common.no": ("no", "いいえ"),
    "common.save": ("Save", "保存"),
}


def pick_language(cookie: str | None, accept_language: str | None) -> str:
    """The interface language: the cookie's choice, else the browser's best supported one, else English.

    >>> pick_language(None, "ja-JP,ja;q=0.9,en;q=0.8")
    'ja'
    >>> pick_language("en", "ja")
    'en'
    """
    if cookie in LANGUAGES:
        return cookie
    best, best_q = DEFAULT_LANGUAGE, -1.0
    for position, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        primary = tag.strip().lower().split("-")[0]
        if primary not in LANGUAGES:
            continue
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        # earlier entries win ties, as browsers list them in order of preference
        if q > best_q or (q == best_q and position == 0):
            best, best_q = primary, q
    return best if best_q > 0 else DEFAULT_LANGUAGE


@dataclass(frozen=True, slots=True)
class Translator:
    """Looks up interface strings in one language; templates call it as `t("key", n=3)`."""

    language: str

    def __call__(self, key: str, **values: object) -> str:
        """The string for `key` in this language, with `{name}` fields filled from `values`."""
        pair = MESSAGES.get(key)
        if pair is None:
            return key  # a missing key shows itself rather than breaking the page; a test forbids it
        text = pair[1] if self.language == "ja" else pair[0]
        return text.format(**values) if values else text
