"""The pure triage function: message in, classified and detailed result with a drafted reply out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from triagebot.core.applicability import Applicability
from triagebot.core.classify import Classifier
from triagebot.core.details import DetailExtractor
from triagebot.core.models import Channel, InboundMessage, TriageResult
from triagebot.core.policy import decide, not_a_question
from triagebot.core.question import make_question
from triagebot.core.render import Renderer


@dataclass(frozen=True, slots=True)
class Triager:
    """Everything triage needs, built once per knowledge base and model."""

    classifier: Classifier
    extractor: DetailExtractor
    renderer: Renderer
    model_version: str
    applicability: Applicability  # which tips the post's stated details rule out

    def triage(self, message: InboundMessage, channel: Channel | None = None) -> TriageResult:
        """Triage one message; the reply is formatted for `channel` (default: where it came from).

        Example:
            >>> result = triager.triage(message)            # doctest: +SKIP
            >>> [t.tip_id for t in result.classification.tips]  # doctest: +SKIP
            ['selinux']
        """
        return self.triage_many([message], channel)[0]

    def triage_many(
        self, messages: Sequence[InboundMessage], channel: Channel | None = None
    ) -> list[TriageResult]:
        """Triage a batch; the classifier works on the batch at once, which is much faster.

        Each step runs over the whole batch before the next begins: the steps share no state, and a
        step's tables and patterns stay in the processor's caches while it works through the batch.
        """
        questions = [make_question(m.subject, m.text) for m in messages]
        scores = self.classifier.score_many(questions)
        reports = [
            self.extractor.extract(m.subject, m.text, (q.prose, q.log_lines))
            for m, q in zip(messages, questions, strict=True)
        ]
        rank, left_out = self.classifier.rank, self.applicability.left_out
        classifications = [rank(s, left_out(d)) for s, d in zip(scores, reports, strict=True)]
        decisions = [
            decide(c, d, not_a_question(q, c))
            for c, d, q in zip(classifications, reports, questions, strict=True)
        ]
        results = []
        for message, question, classification, details, decision in zip(
            messages, questions, classifications, reports, decisions, strict=True
        ):
            reply = self.renderer.render(decision, details, question.language, channel or message.channel)
            results.append(
                TriageResult(question, classification, details, decision, reply, self.model_version)
            )
        return results
