"""Local information: facts an operator sets (shelter locations, water points, food distribution times,
clinic hours, road closures), each with an expiry, that the responder gives for routine questions in the
sender's language, saying how long ago each was updated. Never in an emergency's reply."""

from evy.localinfo.answer import local_answer
from evy.localinfo.topics import TOPICS, LocalInfoError, matched_topics

__all__ = ["TOPICS", "LocalInfoError", "local_answer", "matched_topics"]
