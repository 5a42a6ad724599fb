"""Practice in the web UI: role-play sessions stored per trainee, progress, team results.

The simulation itself is `calmdesk.training` (pure Python). A run stores only
the scenario, the seed and the trainee's replies; the conversation is rebuilt by
replaying them, which the simulator guarantees is deterministic. So no web
worker keeps a session in memory and any worker can take the next reply.
"""
