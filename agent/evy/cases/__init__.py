"""Cases: one person's conversation with the kit (status, location, protocol step), and its short code."""
