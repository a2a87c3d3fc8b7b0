"""Live chat bots: each adapter translates its platform's events once and posts through its own client."""
