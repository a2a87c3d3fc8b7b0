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
        """Triage a batch; the classifier works on the batch at once, which is much faster."""
        questions = [make_question(m.subject, m.text) for m in messages]
        scores = self.classifier.score_many(questions)
        results = []
        for message, question, scored in zip(messages, questions, scores, strict=True):
            details = self.extractor.extract(
                message.subject, message.text, (question.prose, question.log_lines)
            )
            classification = self.classifier.rank(scored, self.applicability.left_out(details))
            decision = decide(classification, details, not_a_question(question, classification))
            reply = self.renderer.render(decision, details, question.language, channel or message.channel)
            results.append(
                TriageResult(question, classification, details, decision, reply, self.model_version)
            )
        return results
