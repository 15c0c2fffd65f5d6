"""Settings of bigEVY ([offload]): serving routine answers to other kits, and asking a big node for them."""

from evy.config.schema import Setting, boolean, integer, number, string

SETTINGS = [
    Setting("offload.serve", boolean, False,
            "Be a big node: load the model pinned with role `offload`, say so in mesh beacons, and answer "
            "routine questions other kits send (never emergencies)."),
    Setting("offload.model", string, "auto",
            "Model a big node answers with, by its name in models.lock (role `offload`); `auto` picks the "
            "largest pinned one that fits in free memory."),
    Setting("offload.ask", boolean, True,
            "For a routine follow-up, ask a big node the mesh advertises before the local model; its answer "
            "is used only if it comes in time and passes the same vetting. Emergencies never ask."),
    Setting("offload.wait", number(0.5, 600), 12.0,
            "Seconds a kit with its own model waits for a big node's answer, leaving the rest of the "
            "follow-up deadline to its own model; a kit without one waits up to the deadline."),
    Setting("offload.timeout", number(1, 600), 30.0,
            "Most seconds a big node spends on one answer (the asking kit's deadline is kept too)."),
    Setting("offload.per_kit_per_hour", integer(1, 3600), 30,
            "Answers a big node gives one kit per hour; further requests are ignored."),
]
