"""Data for three sequence tasks of the lecture, time-major (T, B, N) float64 and seeded.

pronoun   the "Julia ... for her" task: a pronoun fixed by a name d words back
talks     a SYNTHETIC sport-or-science talk: one label per long sequence of frames
prices    next-value prediction on a real series (airline passengers; Google prices via matplotlib)
"""
from .prices import NextValueTask, PriceSeries, next_value_task, price_series
from .pronoun import (
    DEFAULT_VOCAB,
    LECTURE_SENTENCE,
    PAD,
    PronounBatch,
    PronounVocab,
    encode,
    pronoun_task,
    pronoun_task_mixed,
)
from .talks import TalksBatch, keyword_patterns, talks_task

__all__ = [
    "DEFAULT_VOCAB", "LECTURE_SENTENCE", "PAD", "PronounBatch", "PronounVocab", "encode",
    "pronoun_task", "pronoun_task_mixed",
    "TalksBatch", "keyword_patterns", "talks_task",
    "NextValueTask", "PriceSeries", "next_value_task", "price_series",
]
