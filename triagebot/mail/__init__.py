"""Mail delivery: approved replies as proper RFC 5322 replies (`message`), sent over SMTP (`sender`)."""
