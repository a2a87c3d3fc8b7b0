"""A new tip's skeleton: every field of a tip, in both languages, commented, waiting to be filled.

The skeleton's values are placeholders (`core.kb.PLACEHOLDER`); the knowledge-base parser refuses a
tip that still holds one, naming the lines, so a half-written tip never reaches training.
"""

from __future__ import annotations

import re

from triagebot.core.kb import MIN_EXAMPLES, PLACEHOLDER, TIP_ID

_SKELETON = """\
# A tip: one known installation problem and how to fix it. Replace every {mark} value, then run
# `triagebot kb validate` (it names each line still to fill) and `triagebot train`.
id: {tip_id}                      # must match the file name
title:                            # one line naming the problem, as a moderator would search for it
  en: "{mark}: title in English"
  ja: "{mark}: 日本語のタイトル"
summary:                          # what goes wrong and why, a short paragraph per language
  en: >-
    {mark}: what the asker sees, the cause, and what fixes it.
  ja: >-
    {mark}: 症状、原因、解決方法の要約。
fix:                              # the steps, in order; as many in ja as in en
  en:
    - "{mark}: first step"
  ja:
    - "{mark}: 最初の手順"
commands:                         # commands the fix runs (also used to recognise answers that apply it)
  - "{mark}: a command"
symptoms:                         # error strings that identify the problem: a regex and what users see
  - pattern: '{mark}'
    label: "{mark}: the error line as users see it"
    confidence: 0.9               # 0.5 to 1.0: how sure a match alone makes the tip
                                  # unless: 'regex'  (optional: a text matching it too does not count)
docs:                             # where to read more
  - title: "{mark}: document title"
    url: https://docs.cloudstack.apache.org/
applies:                          # a post stating a detail outside this never gets the tip (empty: all)
  versions: {{min: null, max: null}}
  os_families: []                 # el, debian, suse, other
  hypervisors: []                 # ids from catalog/hypervisors.yaml
needs: []                         # details to ask for when missing: version, os, hypervisor
facts: []                         # catalog facts the reply shows: java, systemvm_template
version_notes: []                 # - versions: {{min: "4.11", max: null}}
                                  #   text: {{en: "...", ja: "..."}}
examples:                         # at least {minimum} questions as askers write them, en and ja mixed
{examples}"""


def skeleton(tip_id: str) -> str:
    """The YAML text of a new tip `tip_id` with every field present and a placeholder in each value.

    Raises:
        ValueError: `tip_id` is not a valid tip id (lower-case words joined by hyphens).
    """
    if not re.fullmatch(TIP_ID, tip_id):
        raise ValueError(f"{tip_id!r} is not a tip id: use lower-case words joined by hyphens")
    examples = "".join(
        f'  - "{PLACEHOLDER}: example question {n} ({"en" if n % 2 else "ja"})"\n'
        for n in range(1, MIN_EXAMPLES + 1)
    )
    return _SKELETON.format(mark=PLACEHOLDER, tip_id=tip_id, minimum=MIN_EXAMPLES, examples=examples)
