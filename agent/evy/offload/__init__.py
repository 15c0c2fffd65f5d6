"""bigEVY: a node with a bigger model answers routine questions for small kits over the mesh.

- ``server.py``: the big node's side: answers ``OffloadRequest`` frames with the model pinned with role
  ``offload``, under the asking kit's deadline, rate-limited per kit, never for an emergency.
- ``asking.py``: the small kit's side: the requests it waits on, and which answers may end a wait (the
  right request id, from the node asked, before the deadline).
The kit vets every answer exactly as it vets its own model's (``evy.responder.brain``).
"""
