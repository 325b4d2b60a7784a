"""The offline understanding engine: language, intent, slots, sentiment and handoff signals.

``OfflineUnderstander.load(path).understand(text)`` needs no network and no LLM key.
"""

from bot.nlu.classifier import IntentClassifier, load_or_train
from bot.nlu.errors import ArtifactInvalid, DataFileInvalid, TrainingDataInvalid, UnderstandingError
from bot.nlu.intents import INTENT_IDS, OUT_OF_SCOPE, is_intent
from bot.nlu.language import detect_language
from bot.nlu.models import SIGNALS, IntentScore, Signal, Slots, Understanding
from bot.nlu.slots import extract_slots
from bot.nlu.understander import DEFAULT_CONFIDENCE_THRESHOLD, OfflineUnderstander

__all__ = [
    "DEFAULT_CONFIDENCE_THRESHOLD",
    "INTENT_IDS",
    "OUT_OF_SCOPE",
    "SIGNALS",
    "ArtifactInvalid",
    "DataFileInvalid",
    "IntentClassifier",
    "IntentScore",
    "OfflineUnderstander",
    "Signal",
    "Slots",
    "TrainingDataInvalid",
    "Understanding",
    "UnderstandingError",
    "detect_language",
    "extract_slots",
    "is_intent",
    "load_or_train",
]
