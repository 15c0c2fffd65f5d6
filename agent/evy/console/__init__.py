"""The operator console: a small web app served by the kit (`evy console`) in its own process, on the agent's
database. Operators see the cases, answer senders, change statuses, merge, export and map; observers only see.
"""
