"""Settings of broadcasts ([broadcast]): the pace they leave at and how long one may be."""

from evy.config.schema import Setting, integer, number

SETTINGS = [
    Setting("broadcast.send_interval", number(0, 3600), 10.0,
            "Seconds between two broadcast SMS: the modem's send rate, leaving it free for replies between "
            "them (at most one broadcast SMS leaves per turn of the loop, after every reply)."),
    Setting("broadcast.max_segments", integer(1, 10), 3,
            "Most SMS one broadcast text may take per recipient; a longer text is refused, never cut."),
    Setting("broadcast.recent_hours", number(0.1, 720), 24.0,
            "Default window of the 'recent' audience: everyone who texted in the last this many hours."),
]
