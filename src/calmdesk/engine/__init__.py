"""calmdesk's language engine: pure Python, never imports Django.

Public API (filled in by the engine modules):
- assess(text, *, history=()) -> Assessment   reads a customer message
- coach(draft, *, conversation=()) -> Coaching  coaches an agent's reply
- playbook(conversation) -> PlaybookState       where the de-escalation stands
"""
