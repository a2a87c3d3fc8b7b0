"""Import every command module so its commands register on the `cli` group."""

import triagebot.cli.archive_cmds  # noqa: F401
import triagebot.cli.eval_cmds  # noqa: F401
import triagebot.cli.triage_cmds  # noqa: F401
