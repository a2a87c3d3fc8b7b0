"""Chat adapters (Slack, Discord) and the service they share: questions in, drafts to moderators,
approved replies out through the outbox."""
