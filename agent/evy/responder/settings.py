"""Settings of the AI responder ([brain], used when ``responder = "brain"``): reply budget, follow-ups."""

from evy.config.schema import Setting, boolean, integer

SETTINGS = [
    Setting("brain.max_segments", integer(1, 10), 3,
            "Most SMS one reply may take; the compressor packs each reply into this budget."),
    Setting("brain.followup", boolean, True,
            "After the immediate protocol reply, send a second SMS from the knowledge base (and, except "
            "for emergencies, the local model) when it adds something."),
]
