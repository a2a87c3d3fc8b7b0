"""The pure core: no I/O, no clock, no environment, no vendor SDKs. Stages exchange frozen objects."""
