from .conversations import Conversation, Turn
from .knowledge import Entry, IndexVersion, KnowledgeBase, Venue, VenueKey

__all__ = ["Conversation", "Entry", "IndexVersion", "KnowledgeBase", "Turn", "Venue", "VenueKey"]
