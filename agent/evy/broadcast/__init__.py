"""Broadcasts: people opt in (JOIN) and out (LEAVE, or STOP which always wins) by SMS; an operator sends a
text to subscribers, to everyone who texted lately, or to the senders of open cases, through the outbox at
the lowest priority and at the modem's pace (see :mod:`evy.broadcast.send`)."""
