"""Deciding how a request is answered, without holding or loading any answering model:
`Decider.decide(request) → Decision` (frozen). Routers are read through the manager (they
score the text); specialists, tools and the primary are only named here. The one
fallback chain (router → keyword rules → default route) is routing/base.fall_through."""
from cadre.runtime.decide.decider import Decider
from cadre.runtime.decide.decision import Decision

__all__ = ["Decider", "Decision"]
