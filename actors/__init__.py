"""Actors: the base class and its runtime, and (in later modules) every concrete agent."""

from actors._actor import Actor, ActorStatistics, Lifecycle
from actors._context import Context

__all__ = ["Actor", "ActorStatistics", "Context", "Lifecycle"]
