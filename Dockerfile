# triagebot: a slim image with the package, the knowledge base and the templates.
# Note: there is no Docker engine on our build machines, so this file is kept simple and is not built
# in CI; `make test` is what is verified.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1

RUN useradd --create-home --uid 10001 triagebot
WORKDIR /app

# setup.py copies knowledge/ and templates/ into the wheel, so both go in before the install.
COPY pyproject.toml setup.py README.md ./
COPY triagebot ./triagebot
COPY knowledge ./knowledge
COPY templates ./templates
RUN pip install '.[postgres]'

COPY samples ./samples
RUN mkdir -p models var && chown -R triagebot:triagebot /app
USER triagebot

# Train at build time so the first triage starts fast; retrained automatically if the KB changes.
RUN triagebot train

# `triagebot web --host 0.0.0.0` serves the moderators' app (TRIAGEBOT_WEB_SECRET from the environment).
EXPOSE 8080
ENTRYPOINT ["triagebot"]
CMD ["--help"]
