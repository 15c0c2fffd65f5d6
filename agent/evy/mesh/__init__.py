"""The LoRa mesh between kits: authenticated frames, managed flooding with next-hop routing, duty-cycle
accounting, and radios behind one interface (SX1276, UDP twin, simulator). See docs/mesh.md.

For the pipeline: :func:`evy.mesh.service.open_node` gives a started :class:`evy.mesh.node.MeshNode`;
``node.send(dest, SmsRelay(number, text), Priority.EMERGENCY)`` hands a reply to another kit.
"""
