"""Whether a question gives a helper something concrete: output, an account of events, a precise ask."""

from __future__ import annotations

import re

from triagebot.core.details.catalog import LATIN_WORD, Scan, by_first_word, starts_word, word_set
from triagebot.core.language import count_japanese
from triagebot.core.logs import LOG_LEVEL, STACK_FRAME, TIMESTAMP

_PUNCTUATION = str.maketrans(dict.fromkeys("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~", " "))

# Literal markers of pasted output: (word that must occur, text that must occur) on the lower-cased text.
_OUTPUT_MARKERS = (
    ("caused", "caused by:"), ("traceback", "traceback (most recent call"), ("logid", "(logid:"),
    ("cloud", "com.cloud."), ("cloudstack", "org.apache.cloudstack."),
)  # fmt: skip
_EXCEPTION = re.compile(r"Exception(?<=[A-Za-z]Exception)(?![A-Za-z])")
_MYSQL_ERROR = re.compile(r"ERROR [0-9]{4} \(")
_HTTP_STATUS = re.compile(r"http(?: error)?[ :/][0-9.]{0,4} ?[45][0-9]{2}(?![0-9])")
_ERROR_CODE = re.compile(r"(?:error|エラー) ?(?:code)? ?[:\uff1a]? ?[45][0-9]{2}(?![0-9])")
_FAILED_MARK = re.compile(r"\[ ?failed ?\]")
_EXIT_STATUS = re.compile(r"status=[0-9]|exit (?:code|status)[ =:]{0,2}[0-9]")
_COMMAND_LINE = (
    r"(?:systemctl|service|journalctl|cloudstack-|cloud-|mysql|virsh|yum|dnf|apt|rpm|dpkg|nmcli|hostname"
    r"|setenforce|getenforce|sestatus|iptables|firewall-cmd|ufw|exportfs|showmount|mount|netstat|ss|nc"
    r"|telnet|ping|curl|wget|cmk|tail|grep|cat|ls|ip|brctl|ovs-vsctl|keytool|java|uname|sudo|chown|chmod"
    r"|nfsstat|kvm-ok|/)"
)
# A shell prompt and a command: `$ systemctl ...`, `[root@mgmt ~]# ...`, `user@host:~$ ...`.
_PROMPT = re.compile(
    r"^[ \t]{0,4}(?:\[[^\]\n]{1,60}\][ \t]?|[\w.\-]{1,32}@[\w.\-]{1,64}:[^\n#$]{0,60})?"
    rf"[#$][ \t]{{1,3}}{_COMMAND_LINE}",
    re.MULTILINE,
)
# "Error: CloudStack failed to detect ...": an error word, a colon, a message (not "error: please help").
_ERROR_LABELS = ("error", "failed", "failure", "exception", "fatal", "warning", "エラー", "エラーメッセージ")
_ERROR_MESSAGE = re.compile(
    r"[ \t]{0,2}[:\uff1a][ \t]{0,2}(?!please|help|how|what|why|any|can|could)\S[^\n]{5}"
)
_QUOTED = re.compile(r"[\"“「『`]([^\"”」』`\n]{10,240})[\"”」』`]|'(?<![a-z]')([^'\n]{10,240})'(?![a-z])")
_ERROR_WORDS = re.compile(
    r"error|fail|unable|cannot|can't|could not|couldn't|denied|refused|not found|no such|time[sd]? ?out"
    r"|invalid|exception|not supported|not allowed|missing"
    r"|エラー|失敗|できません|見つかりません|拒否|タイムアウト"
)
# "setup-databases says SELinux is set to enforcing": a reporting verb, then a message in its own case.
_REPORTING_VERBS = word_set(
    "says said shows showed prints printed outputs reports returns returned displays throws"
)
_REPORTED_MESSAGE = re.compile(
    r"(?<![A-Za-z])(?:says|said|shows|showed|prints|printed|outputs|reports|returns|returned|displays|throws)"
    r":? {1,2}[\"'“]?[A-Z][\w.\-]{0,40}(?: [\w.,:'/\-]{1,40}){2}"
)
# Japanese posts quote a message, then と出ます / と表示されます ("is shown"): read back from there.
_SHOWN_MARKERS = ("と出", "と表示", "というエラー", "というメッセージ", "とエラー", "と言われ")
_QUOTE_OPENERS = {"」": "「", "』": "『", '"': '"', "”": "“", "'": "'"}
_MESSAGE_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789 .,:;'\"/_-[]()=@<>%#*+")
# Commands people paste, by the word that must occur before the command text is looked for.
_COMMANDS = by_first_word(
    "systemctl journalctl virsh nmcli hostnamectl setenforce getenforce sestatus iptables exportfs "
    "showmount netstat cloudmonkey brctl keytool nfsstat mysqladmin dpkg ufw_ cmk_ firewall-cmd ovs-vsctl "
    "kvm-ok cloudstack-setup- cloud-install-sys-tmplt cloudstack-sysvmadm yum_ dnf_ apt_install apt-get "
    "rpm_- mount_- ss_- nc_- ping_ curl_ wget_ tail_- grep_ ip_a ip_r ip_addr sudo_ chown_ chmod_ "
    "service_cloudstack java_-version uname_- hostname_- mysql_- setup-databases setup-management setup-agent"
)
_COMMAND_WORDS = frozenset(_COMMANDS)
_PATH = re.compile(
    r"/(?<![\w.]/)(?:etc|var|usr|opt|mnt|export|home|root|tmp|dev|proc|srv|data|lib|run|sys)/\w"
)
_SETTING_BEFORE = re.compile(r"[a-z][a-z0-9]{0,30}(?:[._][a-z0-9]{1,30}){1,6}[ \t]{0,2}$")
_ENV_SETTING_BEFORE = re.compile(r"[A-Z][A-Z0-9_]{2,40}$")
_IP = re.compile(r"[0-9](?<![0-9.][0-9])[0-9]{0,2}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}(?![0-9]|\.[0-9])")
_PORT = re.compile(
    r"port[ \t]{0,2}[0-9]{2,5}(?![0-9])|:(?<![0-9]:)[0-9]{4,5}(?![0-9])|[0-9]{2,5}/(?:tcp|udp)"
    r"|ポート[ \t]?[0-9]{2,5}|[0-9]{2,5}番ポート"
)
# What happened: single words, phrases (first word, phrase) and Japanese endings.
_RESULT_WORDS = word_set(
    "shows showed shown displays displayed returns returned says said got gets getting gives gave prints "
    "printed outputs stuck hangs hung freezes froze stays stayed remains remained loops"
)
_RESULT_PHRASES = by_first_word(
    "times_out timed_out fails_with failed_with fails_at failed_at goes_to went_to state_is status_is "
    "never_start never_come_up never_connect never_finish never_complete unable_to_ failed_to_ cannot_find "
    "cannot_connect cannot_start cannot_mount cannot_resolve cannot_reach cannot_access cannot_ping "
    "cannot_log access_denied connection_refused no_route_to_host permission_denied not_found "
    "no_such_file does_not_resolve is_not_ready"
)
_RESULT_PHRASE_WORDS = frozenset(_RESULT_PHRASES)
_STATE_WORDS = word_set("alert disconnected down error starting stopped creating")
# "it fails" reports a result only after a specific step ("when I add the host it fails"), not after
# "I tried to install it".
_FAIL_WORDS = word_set("fail fails failed failing")
_GENERIC_VERBS = word_set("tried try trying installed install installing used followed checked")
_RESULT_JA = re.compile(
    r"表示され|出力され|返って|返され|止まっ|固まっ|終わらな|進まな|なりません|になります|になりました"
    r"|ままです|のまま|失敗しま|失敗する|タイムアウト|エラーにな|エラーが(?:出|表示|発生|返)"
    r"|接続できな|接続できま?せん|繋がらな|つながらな|見つかりま?せん|拒否され|応答がな"
)
# What was done: "I ran ...", "after adding ...", "...を実行したところ".
_ACTION_VERBS = word_set(
    "ran run tried executed installed configured added created set changed followed rebooted restarted "
    "used typed enabled disabled mounted edited upgraded registered uploaded downloaded checked opened "
    "updated modified deployed"
)
_ACTION_ING = word_set(
    "running installing adding upgrading restarting rebooting configuring setting changing executing "
    "creating registering starting deploying trying"
)
_ACTION_VERBS_WHEN = (
    _ACTION_ING | _ACTION_VERBS | word_set("add try start install execute create upgrade restart reboot")
)
_ACTION = re.compile(
    r"(?<![a-z])(?:i|we)(?: have|'ve)? (?:then |also |already )?"
    rf"(?P<verb>{'|'.join(sorted(_ACTION_VERBS))})(?![a-z])"
)
_ACTION_WHEN = re.compile(
    r"(?<![a-z])(?:after|when|while|before) (?:i |we )?"
    rf"(?P<verb>{'|'.join(sorted(_ACTION_VERBS_WHEN))})(?![a-z])"
)
_ACTION_JA = re.compile(
    r"実行し|インストールし|設定し|追加し|作成し|再起動し|変更し|試し|登録し|アップロードし"
    r"|ダウンロードし|構築し|導入し|行った|行いました|したところ|したら|すると|手順[でに]"
)
# Precise questions: a sentence that asks, and names a topic someone can answer exactly.
_SENTENCE = re.compile(r"[^\n。？！?!]{1,400}[?？!！。]?")
_QUESTION_ENDINGS = ("?", "？", "か", "か。", "ですか", "ますか", "でしょうか")
_INTERROGATIVES_JA = ("どの", "どれ", "何番", "何の", "いくつ", "何が", "何を", "何です", "必要な")
_TOPIC_WORDS = word_set(
    "java jdk jre openjdk port ports firewall template templates mysql mariadb kernel libvirt python nfs "
    "command commands url repo repository package packages ram memory disk cpu cpus nic nics bridge "
    "sudoers selinux apparmor os dns ntp ssl certificate certificates"
)
_TOPIC_PHRASES = (
    "global setting", "operating system", "db.properties", "agent.properties", "ポート", "テンプレート",
    "メモリ", "ディスク", "ブリッジ", "ファイアウォール", "コマンド", "パッケージ", "リポジトリ", "証明書",
    "対応os", "java",
)  # fmt: skip
_SUPPORT = ("support", "compatib", "possible", "対応", "サポート", "動作", "可能")


def has_specifics(scan: Scan) -> bool:
    """True when the post gives a helper something concrete: output, errors, commands, steps, an exact ask."""
    return _has_output(scan) or _has_account(scan) or _asks_precisely(scan)


def _has_output(scan: Scan) -> bool:
    """Pasted output: log lines, stack traces, error codes, shell prompts, quoted error messages."""
    text, low, words = scan.text, scan.low, scan.words
    if any(word in words and marker in low for word, marker in _OUTPUT_MARKERS) or "```" in text:
        return True
    if ":" in low and "-" in low and TIMESTAMP.search(low):
        return True
    if "exception" in low and _EXCEPTION.search(text):
        return True
    if not words.isdisjoint(("error", "warn", "warning", "fatal", "severe")) and (
        LOG_LEVEL.search(text) or _MYSQL_ERROR.search(text)
    ):
        return True
    checks = (
        (".java:" in text or "Native Method" in text or "Unknown Source" in text, STACK_FRAME, text),
        ("http" in low, _HTTP_STATUS, low),
        ("error" in words or "エラー" in low, _ERROR_CODE, low),
        ("failed" in words, _FAILED_MARK, low),
        ("status=" in low or "exit" in words, _EXIT_STATUS, low),
        ("$" in text or "#" in text, _PROMPT, low),
    )
    if any(gate and pattern.search(where) for gate, pattern, where in checks):
        return True
    if _has_error_message(scan) or _has_shown_message(scan):
        return True
    if not words.isdisjoint(_REPORTING_VERBS) and _REPORTED_MESSAGE.search(text):
        return True
    if not any(quote in low for quote in "\"“「『`'"):
        return False
    return any(_ERROR_WORDS.search(q.group(1) or q.group(2) or "") for q in _QUOTED.finditer(low))


def _has_shown_message(scan: Scan) -> bool:
    """A message quoted before と出ます / と表示されます: `SELinux is set to enforcing と出ます`."""
    if scan.ascii:
        return False
    low = scan.low
    for marker in _SHOWN_MARKERS:
        for at in _find_all(low, marker, limit=5):
            if at == 0:
                continue
            if low[at - 1] in _QUOTE_OPENERS:  # 「ホストの追加に失敗しました」と表示されます
                opener = low.rfind(_QUOTE_OPENERS[low[at - 1]], max(0, at - 242), at - 1)
                if opener >= 0 and at - 1 - opener > 6:
                    return True
                continue
            start = at
            while start > 0 and at - start < 240 and low[start - 1] in _MESSAGE_CHARS:
                start -= 1
            run = low[start:at].strip()
            if len(run) >= 12 and run.count(" ") >= 2 and any(ch.isalpha() for ch in run):
                return True
    return False


def _has_error_message(scan: Scan) -> bool:
    """An error label followed by a colon and a message."""
    if ":" not in scan.low and "\uff1a" not in scan.low:
        return False
    for label in _ERROR_LABELS:
        if label.isascii() and label not in scan.words:
            continue
        at = scan.low.find(label)
        for _ in range(4):
            if at < 0:
                break
            if _ERROR_MESSAGE.match(scan.low, at + len(label)) and (
                not label.isascii() or starts_word(scan.low, at)
            ):
                return True
            at = scan.low.find(label, at + 1)
    return False


def _concrete_kinds(scan: Scan) -> int:
    """How many kinds of concrete detail appear: commands, paths, settings, addresses or ports."""
    low, words = scan.low, scan.words
    kinds = 0
    if any(command in low for word in words & _COMMAND_WORDS for command in _COMMANDS[word]):
        kinds += 1
    if "/" in low and _PATH.search(low):
        kinds += 1
    if "=" in low and _has_setting(scan):
        kinds += 1
    if _IP.search(low) or _PORT.search(low):
        kinds += 1
    return kinds


def _has_setting(scan: Scan) -> bool:
    """A `key.name = value` or `ENV_NAME=value` line (db.properties, agent.properties, sysconfig)."""
    position = scan.low.find("=")
    for _ in range(6):
        if position < 0:
            return False
        if _SETTING_BEFORE.search(scan.low, max(0, position - 60), position) or _ENV_SETTING_BEFORE.search(
            scan.text, max(0, position - 42), position
        ):
            return True
        position = scan.low.find("=", position + 1)
    return False


def _has_result(scan: Scan) -> bool:
    """Words that report what happened ("it shows", "stays in Alert state", "表示されます")."""
    words, low = scan.words, scan.low
    if not words.isdisjoint(_RESULT_WORDS):
        return True
    if "state" in words and not words.isdisjoint(_STATE_WORDS):
        return True
    if any(phrase in low for word in words & _RESULT_PHRASE_WORDS for phrase in _RESULT_PHRASES[word]):
        return True
    return not scan.ascii and _RESULT_JA.search(low) is not None


def _has_account(scan: Scan) -> bool:
    """Concrete details, or steps taken and what happened."""
    concrete = _concrete_kinds(scan)
    if concrete >= 2:
        return True
    result = _has_result(scan)
    failed = not result and not scan.words.isdisjoint(_FAIL_WORDS)
    if not (result or failed):
        return False
    return bool(concrete) or _has_action(scan, specific=failed)


def _has_action(scan: Scan, *, specific: bool) -> bool:
    """Whether the post says what was done; `specific` skips generic verbs ("I tried", "installed")."""
    words, low = scan.words, scan.low
    checks = (
        (not words.isdisjoint(("i", "we")) and not words.isdisjoint(_ACTION_VERBS), _ACTION),
        (not words.isdisjoint(("after", "when", "while", "before")), _ACTION_WHEN),
    )
    for gate, pattern in checks:
        if gate:
            for match in pattern.finditer(low):
                if not specific or match.group("verb") not in _GENERIC_VERBS:
                    return True
    return not scan.ascii and _ACTION_JA.search(low) is not None


def _asks_precisely(scan: Scan) -> bool:
    """A precise factual question ("which Java does 4.19 need", "KVMエージェント用のポートはどれですか")."""
    low = scan.low
    if not scan.ascii:
        if not ("?" in low or "？" in low or "か" in low or "which" in scan.words):
            return False
        for sentence in _SENTENCE.finditer(low):
            asked = sentence.group().rstrip()
            if (asked.endswith(_QUESTION_ENDINGS) or "which" in asked) and _is_precise_question(asked):
                return True
        return False
    marks = _find_all(low, "?")
    if "which" in scan.words:
        marks += [at + 5 for at in _find_all(low, "which")]
    return any(_is_precise_question(_sentence_around(low, mark)) for mark in marks)


def _sentence_around(low: str, mark: int) -> str:
    """The sentence holding offset `mark`: back to the previous full stop, on to the question mark."""
    start = max(low.rfind(stop, 0, mark) for stop in ("\n", ". ", "!", "?")) + 1
    ends = [at for at in (low.find("?", mark), low.find("\n", mark), low.find(". ", mark)) if at >= 0]
    return low[max(start, mark - 300) : min(ends, default=mark + 200) + 1].strip()


def _find_all(text: str, needle: str, limit: int = 20) -> list[int]:
    """Start offsets of `needle` in `text`, at most `limit` of them."""
    found: list[int] = []
    at = text.find(needle)
    while at >= 0 and len(found) < limit:
        found.append(at)
        at = text.find(needle, at + 1)
    return found


def _is_precise_question(sentence: str) -> bool:
    """An open question (which/what/どの) must name a topic; a yes/no question also needs a number."""
    if sentence.isascii():
        words = set(sentence.translate(_PUNCTUATION).split())
        if not (sentence.endswith("?") or "which" in words):
            return False
        asks_which = "how many" in sentence or "how much" in sentence
    else:
        if not sentence.endswith(_QUESTION_ENDINGS):
            return False
        words = set(LATIN_WORD.findall(sentence))
        asks_which = any(word in sentence for word in _INTERROGATIVES_JA)
    asks_which = asks_which or not words.isdisjoint(("which", "what"))
    topic = not words.isdisjoint(_TOPIC_WORDS) or any(phrase in sentence for phrase in _TOPIC_PHRASES)
    if topic and asks_which:
        return True
    supported = topic or any(word in sentence for word in _SUPPORT)
    return supported and any(ch.isdigit() for ch in sentence)


SUBSTANTIAL_EN_WORDS = 14
SUBSTANTIAL_JA_CHARS = 40
_EN_WORD = re.compile(r"[A-Za-z][A-Za-z'-]{2,}")


def describes_enough(prose_and_logs: tuple[str, tuple[str, ...]]) -> bool:
    """A pasted log, or a situation told at some length in prose, also gives a helper something to go on.

    The short vague posts ("setup fails, ideas?", "インストールできません") stay below these lengths.
    """
    prose, logs = prose_and_logs
    if logs:
        return True
    japanese = count_japanese(prose)
    if japanese >= 10:
        return japanese >= SUBSTANTIAL_JA_CHARS
    return len(_EN_WORD.findall(prose)) >= SUBSTANTIAL_EN_WORDS
