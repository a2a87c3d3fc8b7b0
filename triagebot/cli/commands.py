"""Import every command module so its commands register on the `cli` group."""

from triagebot.cli import archive_cmds, eval_cmds, triage_cmds  # noqa: F401
