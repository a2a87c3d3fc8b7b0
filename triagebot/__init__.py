"""triagebot: triage CloudStack installation questions into reviewed draft replies."""

__version__ = "0.1.0"
